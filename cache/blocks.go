package cache

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// Block files live at dir/blocks/<xx>/<16 hex digits>: the file number,
// fanned out over 256 directories by its low byte. File numbers are never
// reused within an index's life, so a reader holding a stale record can
// only find the file gone, never another block's bytes.

const (
	blocksDir = "blocks"
	indexDir  = "index"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// chunkSums returns the CRC-32C of every chunkSize bytes of data.
func chunkSums(data []byte) []uint32 {
	sums := make([]uint32, 0, numChunks(int64(len(data))))
	for off := 0; off < len(data); off += chunkSize {
		sums = append(sums, checksum(data[off:min(off+chunkSize, len(data))]))
	}
	return sums
}

func (c *Cache) blockPath(num uint64) string {
	return filepath.Join(c.dir, blocksDir, fmt.Sprintf("%02x", num&0xff), fmt.Sprintf("%016x", num))
}

func (c *Cache) allocNum() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nextNum
	c.nextNum++
	return n
}

// writeBlock writes data to a new block file and returns its record. The
// directory is recreated if someone removed it.
func (c *Cache) writeBlock(data []byte) (entry, error) {
	num := c.allocNum()
	p := c.blockPath(num)
	err := writeNew(p, data)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			err = writeNew(p, data)
		}
	}
	if err != nil {
		os.Remove(p)
		return entry{}, err
	}
	return entry{kind: kindBlock, fileNum: num, length: int64(len(data)), crcs: chunkSums(data)}, nil
}

func writeNew(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

type readStatus int

const (
	readOK readStatus = iota
	readMissing
	readCorrupt
)

// readBlock reads bytes [lo, hi) of a block file, verifying the file's
// length and the checksum of every chunk it reads. It returns the bytes
// and the buffer holding them (for putBuf).
func (c *Cache) readBlock(e entry, lo, hi int64) ([]byte, []byte, readStatus) {
	f, err := os.Open(c.blockPath(e.fileNum))
	if err != nil {
		return nil, nil, readMissing
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() != e.length || lo < 0 || hi > e.length || lo >= hi {
		return nil, nil, readCorrupt
	}
	c0, c1 := lo/chunkSize, (hi-1)/chunkSize
	start, end := c0*chunkSize, min((c1+1)*chunkSize, e.length)
	buf := c.getBuf(end - start)
	if n, _ := f.ReadAt(buf, start); int64(n) != end-start {
		c.putBuf(buf)
		return nil, nil, readCorrupt
	}
	for ci := c0; ci <= c1; ci++ {
		a, b := ci*chunkSize-start, min((ci+1)*chunkSize, e.length)-start
		if checksum(buf[a:b]) != e.crcs[ci] {
			c.putBuf(buf)
			return nil, nil, readCorrupt
		}
	}
	return buf[lo-start : hi-start], buf, readOK
}

// getBuf returns a buffer of n bytes, from the pool when n fits a block;
// putBuf gives it back once its bytes have been copied out. Pooling saves
// clearing and collecting a block-sized buffer on every hit.
func (c *Cache) getBuf(n int64) []byte {
	if n <= c.opts.BlockSize {
		if p, ok := c.bufs.Get().(*[]byte); ok {
			return (*p)[:n]
		}
		return make([]byte, n, c.opts.BlockSize)
	}
	return make([]byte, n)
}

func (c *Cache) putBuf(b []byte) {
	if b != nil && int64(cap(b)) == c.opts.BlockSize {
		c.bufs.Put(&b)
	}
}

// fileOK reports whether e's file exists with the right size (Open does
// not read every file; the checksum is checked on each read).
func (c *Cache) fileOK(e entry) bool {
	fi, err := os.Stat(c.blockPath(e.fileNum))
	return err == nil && fi.Mode().IsRegular() && fi.Size() == e.length
}

func (c *Cache) removeFiles(nums []uint64) {
	for _, n := range nums {
		os.Remove(c.blockPath(n))
	}
}

// removeOrphans removes files under blocks/ that no record names (left by
// a crash between writing a file and its record, or by a lost index
// write) and returns the largest file number seen.
func (c *Cache) removeOrphans(live map[uint64]bool) (uint64, error) {
	root := filepath.Join(c.dir, blocksDir)
	var maxSeen uint64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		num, perr := strconv.ParseUint(d.Name(), 16, 64)
		if perr == nil {
			maxSeen = max(maxSeen, num)
		}
		if perr != nil || !live[num] || p != c.blockPath(num) {
			os.Remove(p)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("scan %s: %w", root, err)
	}
	return maxSeen, nil
}
