package table

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestCompressionOptions: the defaults, Paimon's syntax and aliases, and
// a one-line error naming the option for each bad value.
func TestCompressionOptions(t *testing.T) {
	o, err := ParseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	for l := range 6 {
		want := lsm.Compression{Codec: defaultFileCodec, ZstdLevel: defaultZstdLevel}
		if l == 0 {
			want.Codec = lsm.CodecSnappy
		}
		if got := o.Compression.ForLevel(l); got != want {
			t.Fatalf("default compression of level %d: %v, want %v", l, got, want)
		}
	}
	if got := o.Compression.Files(); got != (lsm.Compression{Codec: defaultFileCodec, ZstdLevel: defaultZstdLevel}) {
		t.Fatalf("default compression of changelog files: %v, want zstd level %d", got, defaultZstdLevel)
	}
	// Setting file.compression makes every level follow it, unless
	// file.compression.per.level is set too (in either order).
	for _, opts := range []map[string]string{
		{OptFileCompression: "zstd"},
		{OptFileCompression: "lz4"},
		{OptFileCompression: "none", OptZstdLevel: "3"},
	} {
		o, err := ParseOptions(opts)
		if err != nil {
			t.Fatal(err)
		}
		codec, _ := lsm.ParseCodec(opts[OptFileCompression])
		for l := range 3 {
			if got := o.Compression.ForLevel(l); got.Codec != codec {
				t.Fatalf("%v: level %d writes %v, want %v", opts, l, got, codec)
			}
		}
	}
	for _, order := range [][2]string{{OptFileCompression, OptCompressionPerLevel}, {OptCompressionPerLevel, OptFileCompression}} {
		c := defaultCompressionOptions()
		vals := map[string]string{OptFileCompression: "zstd", OptCompressionPerLevel: "1:lz4"}
		for _, k := range order {
			if err := c.set(k, vals[k]); err != nil {
				t.Fatal(err)
			}
		}
		if got := [3]lsm.Codec{c.ForLevel(0).Codec, c.ForLevel(1).Codec, c.ForLevel(2).Codec}; got != [3]lsm.Codec{lsm.CodecZstd, lsm.CodecLZ4Raw, lsm.CodecZstd} {
			t.Fatalf("%s then %s: levels 0-2 write %v, want zstd, lz4_raw, zstd", order[0], order[1], got)
		}
	}
	o, err = ParseOptions(map[string]string{OptFileCompression: " Snappy ", OptZstdLevel: "9", OptCompressionPerLevel: " 0 : LZ4 , 2:zstd,3:none "})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]lsm.Compression{
		0: {Codec: lsm.CodecLZ4Raw, ZstdLevel: 9}, 1: {Codec: lsm.CodecSnappy, ZstdLevel: 9},
		2: {Codec: lsm.CodecZstd, ZstdLevel: 9}, 3: {Codec: lsm.CodecUncompressed, ZstdLevel: 9}, 4: {Codec: lsm.CodecSnappy, ZstdLevel: 9},
	}
	for l, w := range want {
		if got := o.Compression.ForLevel(l); got != w {
			t.Fatalf("level %d: %v, want %v", l, got, w)
		}
	}
	for _, c := range []struct{ k, v, msg string }{
		{OptFileCompression, "gzip", `unknown codec "gzip" (want zstd, snappy, lz4_raw, uncompressed)`},
		{OptFileCompression, "", `unknown codec ""`},
		{OptZstdLevel, "0", `"0" is not an integer in 1..22`},
		{OptZstdLevel, "23", `"23" is not an integer in 1..22`},
		{OptZstdLevel, "fast", `"fast" is not an integer in 1..22`},
		{OptCompressionPerLevel, "0=lz4", `"0=lz4" is not level:codec (e.g. 0:lz4_raw,1:zstd)`},
		{OptCompressionPerLevel, "0:lz4,", `"" is not level:codec`},
		{OptCompressionPerLevel, "-1:lz4", `level "-1" is not an integer in 0..999`},
		{OptCompressionPerLevel, "x:zstd", `level "x" is not an integer in 0..999`},
		{OptCompressionPerLevel, "0:lz4,0:zstd", `level 0 is given twice`},
		{OptCompressionPerLevel, "0:brotli", `unknown codec "brotli"`},
	} {
		_, err := ParseOptions(map[string]string{c.k: c.v})
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "option "+c.k+": ") ||
			!strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%q: got %v, want a one-line ErrInvalid naming the option with %q", c.k, c.v, err, c.msg)
		}
	}
	for _, k := range []string{OptFileCompression, OptZstdLevel, OptCompressionPerLevel} {
		if !IsOption(k) {
			t.Errorf("IsOption(%q) is false", k)
		}
	}
}

// FuzzCompressionPerLevel: any file.compression.per.level value parses or
// fails with a one-line ErrInvalid naming the option, never panics; a
// parsed value written back in Paimon's syntax parses to the same levels.
func FuzzCompressionPerLevel(f *testing.F) {
	for _, v := range []string{"", "0:lz4,1:zstd", "0:lz4_raw, 1:snappy ,5:none", "0:zstd,0:zstd", "1:", ":", ",", "999:uncompressed", "1000:zstd", "+1:zstd", "0:lz4:zstd"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) > maxFuzzInput {
			return
		}
		o, err := ParseOptions(map[string]string{OptCompressionPerLevel: v})
		if err != nil {
			if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), OptCompressionPerLevel) || strings.ContainsAny(err.Error(), "\n\r") && !strings.ContainsAny(v, "\n\r") {
				t.Fatalf("%q: %v", v, err)
			}
			return
		}
		levels := o.Compression.PerLevel
		var items []string
		for _, l := range slices.Sorted(maps.Keys(levels)) {
			if l < 0 || l >= maxCompressLevels {
				t.Fatalf("%q: level %d accepted", v, l)
			}
			items = append(items, fmt.Sprintf("%d:%s", l, levels[l]))
		}
		back, err := parseCompressionPerLevel(strings.Join(items, ","))
		if err != nil || !maps.Equal(back, levels) {
			t.Fatalf("%q: parsed %v, written back as %q: %v, %v", v, levels, strings.Join(items, ","), back, err)
		}
	})
}

// TestCompressionPerLevelModel runs the randomized compaction model (a
// writer with inline compaction, standalone compactors and readers, all
// checked against the oracle) on a table whose levels use every codec,
// then checks that every file of every snapshot holds only codecs of its
// level or of a level it was upgraded from, and level-0 files LZ4_RAW.
func TestCompressionPerLevelModel(t *testing.T) {
	seed := testSeed(t)
	ctx := context.Background()
	store := objstore.NewMem()
	s := compactSchema(EngineDeduplicate)
	s.Options[OptFileCompression] = "zstd"
	s.Options[OptZstdLevel] = "7"
	s.Options[OptCompressionPerLevel] = "0:lz4_raw,1:snappy,2:uncompressed"
	runCompactionModel(t, seed, store, s)

	tb, err := Open("db.t", store, "wh/db.db/t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := tb.Meta().Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	levelCodec := []format.CompressionCodec{format.Lz4Raw, format.Snappy, format.Uncompressed, format.Zstd}
	seen := map[format.CompressionCodec]bool{}
	checked := map[string]bool{}
	for _, snap := range snaps {
		files, err := tb.Meta().Files(ctx, snap)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if checked[f.Path] {
				continue
			}
			checked[f.Path] = true
			data, _, err := store.Get(ctx, tb.Root()+f.Path)
			if err != nil {
				t.Fatal(err)
			}
			pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			for _, rg := range pf.Metadata().RowGroups {
				for _, c := range rg.Columns {
					codec := c.MetaData.Codec
					seen[codec] = true
					// A file keeps its codec when upgraded, and a compaction
					// output may hold row groups copied from lower levels.
					if !slices.Contains(levelCodec[:f.Level+1], codec) || f.Level == 0 && codec != format.Lz4Raw {
						t.Fatalf("seed %d: %s at level %d holds %s pages", seed, f.Path, f.Level, codec)
					}
				}
			}
		}
	}
	// The picker may skip level 1 or 2; flushes and full compactions
	// always write levels 0 and 3.
	if !seen[format.Lz4Raw] || !seen[format.Zstd] || !seen[format.Snappy] && !seen[format.Uncompressed] {
		t.Errorf("seed %d: codecs seen %v, want LZ4_RAW, ZSTD and one of the middle levels'", seed, seen)
	}
}
