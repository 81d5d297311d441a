// Package config reads a service's settings from the environment, collecting every problem so
// that one start reports all of them at once.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Env reads typed values from the environment and remembers what was wrong.
type Env struct {
	problems []string
}

// String returns the variable, or def when it is unset or empty.
func (e *Env) String(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// Required returns the variable and records a problem when it is unset.
func (e *Env) Required(name, hint string) string {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		e.problems = append(e.problems, fmt.Sprintf("%s is not set: %s", name, hint))
	}
	return v
}

// Int returns the variable as an integer within [lo, hi], or def when unset.
func (e *Env) Int(name string, def, lo, hi int64) int64 {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		e.problems = append(e.problems, fmt.Sprintf("%s=%q is not an integer between %d and %d", name, v, lo, hi))
		return def
	}
	return n
}

// Duration returns the variable as a Go duration such as "20s", or def when unset.
func (e *Env) Duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		e.problems = append(e.problems, fmt.Sprintf("%s=%q is not a duration such as 20s or 5m", name, v))
		return def
	}
	return d
}

// Bool returns the variable as true or false (also 1 or 0), or def when unset.
func (e *Env) Bool(name string, def bool) bool {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.problems = append(e.problems, fmt.Sprintf("%s=%q is not true or false", name, v))
		return def
	}
	return b
}

// Err returns every recorded problem as one error, or nil.
func (e *Env) Err() error {
	if len(e.problems) == 0 {
		return nil
	}
	return errors.New("invalid configuration:\n  " + strings.Join(e.problems, "\n  "))
}

// MaskURL hides the password of a connection URL so it can be logged.
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.Redacted()
}
