//go:build unix

package testkit

import (
	"syscall"
	"time"
)

// ProcessCPU is the user and system CPU time the process has used so far
// (0 where the platform does not say). Benchmarks report CPU per row with
// it: a figure a loaded, shared machine distorts far less than wall time.
func ProcessCPU() time.Duration { return rusage(syscall.RUSAGE_SELF) }

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
