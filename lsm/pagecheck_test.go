package lsm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/types"
)

// fileFooter decodes the footer of a complete data file.
func fileFooter(t testing.TB, data []byte) *format.FileMetaData {
	t.Helper()
	off, n, err := footerBounds(data[len(data)-8:], int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	md, err := decodeFooter(data[off : off+n])
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// craftHugeLevelRun rewrites the definition levels of the first page of
// column col in row group g as one RLE run of math.MaxInt32 values, fixes
// the page's CRC, and reseals the file: a hostile file that every checksum
// accepts.
func craftHugeLevelRun(t testing.TB, data []byte, g, col int) []byte {
	t.Helper()
	data = bytes.Clone(data)
	md := fileFooter(t, data)
	start := md.RowGroups[g].Columns[col].MetaData.DataPageOffset
	proto := new(thrift.CompactProtocol)
	var h format.PageHeader
	r := proto.NewReaderFromBytes(data[start:])
	if err := thrift.NewDecoder(r).Decode(&h); err != nil {
		t.Fatal(err)
	}
	hl := r.BytesRead()
	if h.Type != format.DataPageV2 {
		t.Fatalf("page type %s, want a v2 data page", h.Type)
	}
	dl := int(h.DataPageHeaderV2.V.DefinitionLevelsByteLength)
	run := binary.AppendUvarint(nil, math.MaxInt32<<1) // RLE run header: count << 1
	if dl < len(run)+1 {
		t.Fatalf("definition levels of %d bytes leave no room for the run", dl)
	}
	body := data[int(start)+hl : int(start)+hl+int(h.CompressedPageSize)]
	// Zero bytes are empty runs; where they go and the run's value (0 or
	// 1) only vary the page CRC until its encoding keeps the header's length.
	for variant := 0; variant < 2*dl; variant++ {
		levels := make([]byte, dl)
		at := variant / 2 % (dl - len(run))
		copy(levels[at:], run)
		levels[at+len(run)] = byte(variant % 2)
		copy(body, levels)
		h.CRC = int32(crc32.ChecksumIEEE(body))
		hdr, err := thrift.Marshal(proto, &h)
		if err != nil {
			t.Fatal(err)
		}
		if len(hdr) == hl {
			copy(data[start:], hdr)
			if _, err := sealFile(data, len(md.RowGroups)); err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	t.Fatal("no variant keeps the page header's length")
	return nil
}

// TestHugeLevelRunFailsFast reads a file whose definition levels claim a
// run of two billion values (checksums recomputed, so only the declared
// sizes give it away): the read fails with a corruption error naming the
// levels, allocating a small multiple of the file's size instead of the
// gigabytes the run header asks for.
func TestHugeLevelRunFailsFast(t *testing.T) {
	data, recs, s := smallFile(t, 3)
	col := numHidden + 7 // "note", an optional string column
	bad := craftHugeLevelRun(t, data, 0, col)
	ctx := context.Background()
	for _, how := range []string{"scan", "get"} {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fr, err := OpenFile(ctx, bytes.NewReader(bad), int64(len(bad)), s, 0)
		if err != nil {
			t.Fatalf("the crafted file must pass its checksums: %v", err)
		}
		if how == "scan" {
			for _, e := range fr.All(ctx) {
				if err = e; err != nil {
					break
				}
			}
		} else {
			_, err = fr.Get(ctx, recs[0].Key)
		}
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: allocated %d KiB: %v", how, alloc>>10, err)
		if !errors.Is(err, types.ErrCorruption) || !strings.Contains(err.Error(), "definition levels") {
			t.Fatalf("%s: want a corruption error about the definition levels, got %v", how, err)
		}
		if alloc > 256<<20 {
			t.Fatalf("%s: reading a %d-byte file allocated %d MiB", how, len(bad), alloc>>20)
		}
	}
}

func TestCheckHybrid(t *testing.T) {
	rle := func(count uint64, v byte) []byte { return append(binary.AppendUvarint(nil, count<<1), v) }
	packed := func(groups uint64, width int) []byte {
		return append(binary.AppendUvarint(nil, groups<<1|1), make([]byte, int(groups)*width)...)
	}
	for _, c := range []struct {
		name  string
		src   []byte
		width int
		n     int
		ok    bool
	}{
		{"one run", rle(40, 1), 1, 40, true},
		{"run too long", rle(41, 1), 1, 40, false},
		{"huge run", rle(math.MaxInt32, 1), 1, 40, false},
		{"bit-packed padding", packed(5, 1), 1, 37, true},
		{"bit-packed too long", packed(6, 1), 1, 37, false},
		{"bit-packed short", packed(5, 1)[:4], 1, 40, false},
		{"runs add up", append(rle(30, 0), rle(11, 1)...), 1, 40, false},
		{"empty runs", []byte{0, 0, 0}, 1, 40, true},
		{"wide index", rle(8, 0xff)[:1], 12, 8, false},
		{"bad width", rle(8, 1), 33, 8, false},
		{"bad varint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 1, 8, false},
	} {
		if err := checkHybrid(c.src, c.width, c.n); (err == nil) != c.ok {
			t.Errorf("%s: checkHybrid = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

// FuzzPageRuns feeds the run pre-scans arbitrary bytes: they never panic,
// and whatever they accept stays within the value count they were given.
func FuzzPageRuns(f *testing.F) {
	f.Add([]byte{80, 1}, uint8(1), uint16(40))
	f.Add([]byte{0x80, 0x01, 0x04, 0x80, 0x01, 0x02, 0x00, 0x00}, uint8(0), uint16(8))
	f.Fuzz(func(t *testing.T, b []byte, width uint8, n uint16) {
		if len(b) > maxFuzzInput {
			return
		}
		_ = checkHybrid(b, int(width%40), int(n))
		if vals, _, err := deltaInts(b, int(n)); err == nil && len(vals) > int(n) {
			t.Fatalf("deltaInts returned %d values, limit %d", len(vals), n)
		}
		_ = checkDeltaByteArray(b, int(n), 1<<20)
		_ = checkDeltaLengths(b, int(n))
	})
}

// TestHugeRowCountRejected: a footer declaring more rows than
// MaxRowGroupRows (checksums recomputed) is rejected when the file is
// opened, before any buffer is sized by the row count.
func TestHugeRowCountRejected(t *testing.T) {
	data, _, s := smallFile(t, 4)
	md := fileFooter(t, data)
	md.RowGroups[0].NumRows = 1 << 40
	md.NumRows += 1<<40 - 40
	for c := range md.RowGroups[0].Columns {
		md.RowGroups[0].Columns[c].MetaData.NumValues = 1 << 40
	}
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), md)
	if err != nil {
		t.Fatal(err)
	}
	off, _, err := footerBounds(data[len(data)-8:], int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	bad := append(bytes.Clone(data[:off]), footer...)
	bad = binary.LittleEndian.AppendUint32(bad, uint32(len(footer)))
	bad = append(bad, "PAR1"...)
	if _, err := sealFile(bad, len(md.RowGroups)); err != nil {
		t.Fatal(err)
	}
	_, err = OpenFile(context.Background(), bytes.NewReader(bad), int64(len(bad)), s, 0)
	if !errors.Is(err, types.ErrCorruption) || !strings.Contains(err.Error(), "more than the limit") {
		t.Fatalf("want a corruption error about the row count limit, got %v", err)
	}
}
