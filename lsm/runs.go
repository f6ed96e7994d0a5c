package lsm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Pre-scans of the run-length encodings inside a data page. parquet-go
// sizes its output buffers from counts stored in the page (a run header,
// a delta block header, the lengths of delta-encoded strings) and believes
// them: a five-byte run header can ask for four billion values. These scans
// read the same counts first, without allocating for them, and reject any
// that exceed what the page header declares (see checkChunk).

// checkHybrid walks the RLE/bit-packed hybrid runs of src (levels or
// dictionary indexes of bitWidth bits, no length prefix) and fails if they
// hold more than n values. A bit-packed run holds a multiple of 8 values,
// so up to 7 values of padding past n are allowed in the last one.
func checkHybrid(src []byte, bitWidth, n int) error {
	if bitWidth < 0 || bitWidth > 32 {
		return fmt.Errorf("bit width %d out of range [0,32]", bitWidth)
	}
	total := 0
	for i := 0; i < len(src); {
		h, w := binary.Uvarint(src[i:])
		if w <= 0 {
			return errors.New("malformed run header")
		}
		i += w
		count, room := h>>1, uint64(n-min(n, total))
		if count == 0 { // an empty run has no body (as parquet-go reads it)
			continue
		}
		var body uint64
		if h&1 == 1 { // bit-packed: count groups of 8 values
			if count > uint64(n)/8+1 {
				return fmt.Errorf("bit-packed run of %d groups exceeds the page's %d values", count, n)
			}
			body = count * uint64(bitWidth)
			count *= 8
			room = uint64(n + 7 - total) // the last group may be padded
		} else {
			body = uint64(bitWidth+7) / 8
		}
		if count > room {
			return fmt.Errorf("run of %d values exceeds the page's %d values (%d before it)", count, n, total)
		}
		if body > uint64(len(src)-i) {
			return fmt.Errorf("run of %d values needs %d bytes, %d remain", count, body, len(src)-i)
		}
		total += int(count)
		i += int(body)
	}
	return nil
}

// deltaInts decodes DELTA_BINARY_PACKED int32 values from src as
// parquet-go does (int32 wrap-around, short mini-block data read as zero
// bits), failing if the header announces more than max values. It returns
// the values and the bytes after them.
func deltaInts(src []byte, max int) ([]int32, []byte, error) {
	return deltaIntsInto(nil, src, max)
}

// deltaIntsInto is deltaInts appending the values to dst[:0] (grown as
// needed, so its memory can be reused).
func deltaIntsInto(dst []int32, src []byte, max int) ([]int32, []byte, error) {
	var hdr [3]uint64
	for k, what := range []string{"block size", "mini-block count", "value count"} {
		v, w := binary.Uvarint(src)
		if w <= 0 {
			return nil, nil, fmt.Errorf("malformed delta %s", what)
		}
		hdr[k], src = v, src[w:]
	}
	first, w := binary.Varint(src)
	if w <= 0 {
		return nil, nil, errors.New("malformed delta first value")
	}
	src = src[w:]
	blockSize, miniBlocks, total := hdr[0], hdr[1], hdr[2]
	switch {
	case blockSize == 0 || blockSize%128 != 0 || blockSize > 1<<16:
		return nil, nil, fmt.Errorf("delta block size %d invalid", blockSize)
	case miniBlocks == 0 || blockSize%miniBlocks != 0 || (blockSize/miniBlocks)%32 != 0:
		return nil, nil, fmt.Errorf("delta mini-block count %d invalid for block size %d", miniBlocks, blockSize)
	case total > uint64(max):
		return nil, nil, fmt.Errorf("delta header announces %d values, the page holds %d", total, max)
	}
	out := dst[:0]
	if uint64(cap(out)) < total || out == nil {
		out = make([]int32, 0, total)
	}
	if total == 0 {
		return out, src, nil
	}
	out = append(out, int32(first))
	per := int(blockSize / miniBlocks)
	last := int32(first)
	for len(out) < int(total) && len(src) > 0 {
		minDelta, w := binary.Varint(src)
		if w <= 0 || uint64(len(src)-w) < miniBlocks {
			return nil, nil, errors.New("malformed delta block header")
		}
		widths := src[w : w+int(miniBlocks)]
		src = src[w+int(miniBlocks):]
		for _, bw := range widths {
			if bw > 32 {
				return nil, nil, fmt.Errorf("delta bit width %d out of range", bw)
			}
			k := min(per, int(total)-len(out))
			size := per * int(bw) / 8
			if len(src) >= size+8 {
				// Whole mini-block, and 8 bytes to load at each value's
				// first byte (what lies past the block is masked off).
				mask := uint64(1)<<bw - 1
				for j := range k {
					bit := j * int(bw)
					v := binary.LittleEndian.Uint64(src[bit>>3:]) >> (bit & 7) & mask
					last += int32(minDelta) + int32(v)
					out = append(out, last)
				}
				src = src[size:]
			} else {
				data := src[:min(size, len(src))]
				src = src[len(data):]
				for j := range k {
					last += int32(minDelta) + int32(unpackBits(data, j, int(bw)))
					out = append(out, last)
				}
			}
			if len(out) == int(total) {
				break
			}
		}
	}
	if len(out) < int(total) {
		return nil, nil, fmt.Errorf("delta data ends after %d of %d values", len(out), total)
	}
	return out, src, nil
}

// unpackBits returns value j of width bw (at most 32) bits packed LSB
// first in data; bits past the end of data read as zero.
func unpackBits(data []byte, j, bw int) uint32 {
	bit := j * bw
	if i := bit >> 3; i+8 <= len(data) {
		// One load covers the value: bit&7 + bw <= 39 bits.
		return uint32(binary.LittleEndian.Uint64(data[i:]) >> (bit & 7) & (1<<bw - 1))
	}
	var v uint64
	for k := 0; k < bw; {
		b := bit + k
		if b/8 >= len(data) {
			break
		}
		take := min(8-b%8, bw-k)
		v |= uint64(data[b/8]>>(b%8)&(1<<take-1)) << k
		k += take
	}
	return uint32(v)
}

// checkDeltaByteArray checks the prefix and suffix lengths of a
// DELTA_BYTE_ARRAY page of n values: no prefix longer than the previous
// value, no negative length, the suffixes within the page, and at most
// limit bytes once decoded.
func checkDeltaByteArray(src []byte, n int, limit int64) error {
	prefix, src, err := deltaInts(src, n)
	if err != nil {
		return fmt.Errorf("prefix lengths: %w", err)
	}
	suffix, src, err := deltaInts(src, n)
	if err != nil {
		return fmt.Errorf("suffix lengths: %w", err)
	}
	if len(prefix) != len(suffix) {
		return fmt.Errorf("%d prefix lengths for %d suffix lengths", len(prefix), len(suffix))
	}
	var prev, suffixes, total int64
	for i := range prefix {
		p, s := int64(prefix[i]), int64(suffix[i])
		if p < 0 || p > prev || s < 0 {
			return fmt.Errorf("value %d: prefix length %d, suffix length %d after a value of %d bytes", i, p, s, prev)
		}
		prev = p + s
		suffixes += s
		total += prev
	}
	if suffixes > int64(len(src)) {
		return fmt.Errorf("suffixes of %d bytes in %d bytes of page", suffixes, len(src))
	}
	if total > limit {
		return fmt.Errorf("values decode to %d bytes, more than the limit of %d", total, limit)
	}
	return nil
}

// checkDeltaLengths checks the lengths of a DELTA_LENGTH_BYTE_ARRAY page
// of n values: none negative, and together within the page.
func checkDeltaLengths(src []byte, n int) error {
	lengths, src, err := deltaInts(src, n)
	if err != nil {
		return fmt.Errorf("lengths: %w", err)
	}
	var total int64
	for i, l := range lengths {
		if l < 0 {
			return fmt.Errorf("value %d has length %d", i, l)
		}
		total += int64(l)
	}
	if total > int64(len(src)) {
		return fmt.Errorf("values of %d bytes in %d bytes of page", total, len(src))
	}
	return nil
}
