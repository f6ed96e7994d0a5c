package lsm

import (
	"bytes"
	"context"
	"math/rand/v2"
	"runtime"
	"testing"
)

// A file opened over a BytesReader has its tail sliced from the bytes,
// not copied whole, and its footer keeps a copy of the verified part only:
// the footer may be shared (OpenFooter) after the bytes are gone.

func TestOpenFileTailNotCopied(t *testing.T) {
	s := allTypesSchema()
	rng := rand.New(rand.NewPCG(5, 11))
	files, err := WriteFiles(randRecords(rng, s, 9000), s, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := files[0].Data
	if len(data) < initialTailRead {
		t.Fatalf("file of %d bytes, want more than the %d-byte tail read", len(data), initialTailRead)
	}
	ctx := context.Background()
	fr, err := OpenFile(ctx, NewBytesReader(data), int64(len(data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	kept := int64(len(fr.tail.data))
	const opens = 20
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range opens {
		if _, err := OpenFile(ctx, NewBytesReader(data), int64(len(data)), s, 0); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&m1)
	per := int64(m1.TotalAlloc-m0.TotalAlloc) / opens
	t.Logf("%d bytes allocated per open of a %d-byte file (verified tail %d bytes)", per, len(data), kept)
	if per >= initialTailRead {
		t.Fatalf("an open over a BytesReader allocates %d bytes, at least the %d-byte tail read: the tail is copied", per, initialTailRead)
	}
}

func TestOpenFooterOutlivesBytes(t *testing.T) {
	data, recs, s := smallFile(t, 6)
	ctx := context.Background()
	scribbled := bytes.Clone(data)
	fr, err := OpenFile(ctx, NewBytesReader(scribbled), int64(len(scribbled)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	ft := fr.Footer()
	for i := range scribbled {
		scribbled[i] = 0xA5 // the bytes are reused for something else
	}
	fr2, err := OpenFooter(NewBytesReader(data), ft, s, 0)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for rec, err := range fr2.All(ctx) {
		if err != nil {
			t.Fatalf("footer shared after its file's bytes changed: %v", err)
		}
		if !recordsEqual(rec, recs[i]) {
			t.Fatalf("record %d differs", i)
		}
		i++
	}
	if i != len(recs) {
		t.Fatalf("%d records, want %d", i, len(recs))
	}
	for k := range recs {
		got, err := fr2.Get(ctx, recs[k].Key)
		if err != nil || len(got) == 0 {
			t.Fatalf("lookup %d through the shared footer: %v (%d records)", k, err, len(got))
		}
	}
}
