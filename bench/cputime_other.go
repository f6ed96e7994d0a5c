//go:build !unix

package bench

import "time"

// processCPU is not measured on this platform: CPU-per-row figures are 0.
func processCPU() time.Duration { return 0 }
