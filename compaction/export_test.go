package compaction

// SetBoxed makes e read its inputs as boxed records, the path before
// batches, which the differential test takes as the reference.
func SetBoxed(e *Executor, on bool) { e.boxed = on }
