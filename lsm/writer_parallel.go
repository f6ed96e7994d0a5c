package lsm

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
)

// maxEncodeWorkers caps the goroutines that encode the columns of one file.
const maxEncodeWorkers = 4

// encodeWorkers is how many goroutines encode the columns of one file:
// GOMAXPROCS, at most maxEncodeWorkers; n when n > 0 (tests).
func encodeWorkers(n int) int {
	if n > 0 {
		return n
	}
	return min(runtime.GOMAXPROCS(0), maxEncodeWorkers)
}

// eachColumn calls do(w, c) for every column c in [0, n) on up to
// fw.workers goroutines; w numbers the goroutine (0 is the caller's), so
// do may use per-goroutine scratch space. Each column is handled by one
// goroutine, and parquet-go's column writers share no state while values
// are written and pages are encoded, compressed and buffered (the pages
// are assembled into the file, in column order, only when the row group
// is flushed): the bytes written are those of a loop over the columns.
// It returns the error of the first column, in column order, that
// failed.
func (fw *fileWriter) eachColumn(n int, do func(w, c int) error) error {
	k := min(fw.workers, n)
	if k <= 1 {
		for c := range n {
			if err := do(0, c); err != nil {
				return err
			}
		}
		return nil
	}
	if cap(fw.colErrs) < n {
		fw.colErrs = make([]error, n)
	}
	errs := fw.colErrs[:n]
	var next atomic.Int32
	run := func(w int) {
		for {
			c := int(next.Add(1)) - 1
			if c >= n {
				return
			}
			errs[c] = do(w, c)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < k; w++ {
		wg.Go(func() { run(w) })
	}
	run(0)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			clear(errs)
			return err
		}
		errs[i] = nil
	}
	return nil
}

// scratches makes sure every encoding goroutine has its chunk of values
// (fw.scratch[w]); call it before eachColumn.
func (fw *fileWriter) scratches() {
	for len(fw.scratch) < fw.workers {
		fw.scratch = append(fw.scratch, make([]parquet.Value, 0, pageChunkRows))
	}
}

// flushColumns encodes and compresses the last page of every column of
// the current row group, on up to fw.workers goroutines, before the
// row group is written: parquet-go's row-group flush would otherwise
// do it column after column. A flushed column writer has nothing left to
// flush, so the row group's bytes do not change.
func (fw *fileWriter) flushColumns() error {
	if fw.workers <= 1 {
		return nil
	}
	cws := fw.w.ColumnWriters()
	return fw.eachColumn(len(cws), func(_, c int) error {
		return cws[c].Flush()
	})
}
