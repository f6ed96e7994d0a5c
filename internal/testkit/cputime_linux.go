package testkit

import "time"

// ThreadCPU is the CPU time the calling OS thread has used (0 where the
// platform does not say).
func ThreadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	return rusage(rusageThread)
}
