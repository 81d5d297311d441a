package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// checkLoopback rejects a URL whose host is not a loopback address, so that load is never aimed
// at a machine by mistake. "localhost" counts as loopback; any other name is rejected without a
// DNS lookup, because its answer could change. allowRemote lifts the check.
func checkLoopback(flagName, raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-%s %q is not a URL: %w", flagName, raw, err)
	}
	host := u.Hostname()
	if u.Scheme == "postgres" || u.Scheme == "postgresql" {
		if host == "" {
			host = u.Query().Get("host")
		}
		if strings.HasPrefix(host, "/") {
			return nil // a Unix socket is local by definition
		}
	} else if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("-%s %q must be an http or https URL", flagName, raw)
	}
	if host == "" {
		return fmt.Errorf("-%s %q has no host", flagName, raw)
	}
	if allowRemote || isLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("-%s %q is not a loopback address; loadtest only aims at 127.0.0.1, ::1 or localhost unless -allow-remote is set", flagName, raw)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
