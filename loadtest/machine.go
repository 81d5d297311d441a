package main

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// machineInfo describes the computer a figure was measured on.
type machineInfo struct {
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes"`
	CPU         string `json:"cpu"`
	OS          string `json:"os"`
	GoVersion   string `json:"go_version"`
}

// describeMachine reads the core count from the Go runtime and the CPU model and memory from
// /proc on Linux; elsewhere those two stay empty.
func describeMachine() machineInfo {
	m := machineInfo{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, GoVersion: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		scanner := bufio.NewScanner(f)
		for scanner.Scan() {
			if name, value, ok := strings.Cut(scanner.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
				m.CPU = strings.TrimSpace(value)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		scanner := bufio.NewScanner(f)
		for scanner.Scan() {
			fields := strings.Fields(scanner.Text())
			if len(fields) >= 2 && fields[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(fields[1], 10, 64)
				m.MemoryBytes = kb * 1024
				break
			}
		}
		f.Close()
	}
	return m
}

// String returns a one-line description such as "2 cores, 23.5 GiB, AMD EPYC 7B13".
func (m machineInfo) String() string {
	s := strconv.Itoa(m.Cores) + " cores, " + strconv.FormatFloat(float64(m.MemoryBytes)/(1<<30), 'f', 1, 64) + " GiB"
	if m.CPU != "" {
		s += ", " + m.CPU
	}
	return s
}
