package lsm

import "sync"

// Buffers keeps the byte buffers of encoded files (EncodedFile.Data) for
// the next files a writer encodes. A file's buffer grows to the file's
// size; allocating it anew for every flush and compaction output costs a
// large allocation the runtime must zero, and page faults when the heap
// has given the memory back, about 5 % of the ingest CPU.
//
// Ownership is explicit: a writer given Buffers (WriterOptions.Buffers)
// takes a buffer for each file it starts, and the caller hands
// EncodedFile.Data back with Release once nothing reads it, which for an
// uploaded file means after its upload succeeded. After a failed upload
// the buffer must not be released: an HTTP transport may still be reading
// a request body after the request returned an error. A buffer that is
// never released is simply left to the garbage collector.
//
// A nil *Buffers is valid and keeps nothing. It is safe for concurrent use.
type Buffers struct {
	mu    sync.Mutex
	free  [][]byte
	bytes int64 // capacity of the buffers in free
	limit int64
}

// NewBuffers returns a pool that keeps buffers of at most limit bytes of
// capacity in all.
func NewBuffers(limit int64) *Buffers {
	return &Buffers{limit: limit}
}

// get returns an empty buffer with some capacity, or nil.
func (b *Buffers) get() []byte {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.free)
	if n == 0 {
		return nil
	}
	buf := b.free[n-1]
	b.free[n-1] = nil
	b.free = b.free[:n-1]
	b.bytes -= int64(cap(buf))
	return buf
}

// Release keeps data's buffer for a later file, or drops it when the pool
// is full. The caller must not read or write data afterwards.
func (b *Buffers) Release(data []byte) {
	if b == nil || cap(data) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bytes+int64(cap(data)) > b.limit {
		return
	}
	b.free = append(b.free, data[:0])
	b.bytes += int64(cap(data))
}
