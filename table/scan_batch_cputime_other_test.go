//go:build !unix

package table

import "time"

// processCPU is not measured off unix (benchmarks then report 0).
func processCPU() time.Duration { return 0 }
