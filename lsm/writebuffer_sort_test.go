package lsm

import (
	"bytes"
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortEntriesRandom: sortEntries puts entries in the order a
// comparison sort with the same total order does, for flushes of every
// size around the radix threshold, over keys that are short, long, equal
// in their first 16 bytes, duplicated, or small big-endian integers.
func TestSortEntriesRandom(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 61))
	for round := range 300 {
		n := rng.IntN(3 * radixMinEntries)
		if round%10 == 0 {
			n = radixMinEntries + rng.IntN(20_000)
		}
		keys, seqs := make([][]byte, n), make([]int64, n)
		shared := make([]byte, 16+rng.IntN(8))
		for i := range shared {
			shared[i] = byte(rng.IntN(256))
		}
		mode := rng.IntN(4)
		for i := range n {
			var k []byte
			switch {
			case i > 0 && rng.IntN(5) == 0: // another write of an earlier key
				k = keys[rng.IntN(i)]
			case mode == 0: // BIGINT keys: 8 bytes, few differing low bytes
				k = bigEndianKey(uint64(rng.IntN(1 << (8 + rng.IntN(20)))))
			case mode == 1: // longer than 16 bytes, sharing the first 16
				k = append(slices.Clone(shared[:16]), byte(rng.IntN(4)), byte(rng.IntN(256)))
			case mode == 2: // any length up to 24 bytes, few byte values
				k = make([]byte, rng.IntN(25))
				for j := range k {
					k[j] = byte(rng.IntN(3))
				}
			default: // random bytes, random length
				k = make([]byte, rng.IntN(20))
				for j := range k {
					k[j] = byte(rng.IntN(256))
				}
			}
			keys[i], seqs[i] = k, int64(rng.IntN(50))
		}
		full := entryOrder(keys, seqs)
		ents := make([]sortEntry, n)
		for i, k := range keys {
			p := keyPrefix(k)
			ents[i] = sortEntry{p[0], p[1], int32(i)}
		}
		rng.Shuffle(n, func(i, j int) { ents[i], ents[j] = ents[j], ents[i] })
		want := slices.Clone(ents)
		slices.SortFunc(want, full)
		got := slices.Clone(ents)
		sortEntries(got, make([]sortEntry, n), full)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("seed %d round %d (%d entries, mode %d): position %d holds entry %d (key %x seq %d), want entry %d (key %x seq %d)",
					seed, round, n, mode, i, got[i].i, keys[got[i].i], seqs[got[i].i], want[i].i, keys[want[i].i], seqs[want[i].i])
			}
		}
	}
}

// entryOrder is FlushRun's order of sort entries over keys and seqs, with
// the entry's position standing in for the add order.
func entryOrder(keys [][]byte, seqs []int64) func(x, y sortEntry) int {
	return func(x, y sortEntry) int {
		if x.p0 != y.p0 {
			return cmp.Compare(x.p0, y.p0)
		}
		if x.p1 != y.p1 {
			return cmp.Compare(x.p1, y.p1)
		}
		if c := bytes.Compare(keys[x.i], keys[y.i]); c != 0 {
			return c
		}
		if c := cmp.Compare(seqs[x.i], seqs[y.i]); c != 0 {
			return c
		}
		return cmp.Compare(x.i, y.i)
	}
}

func bigEndianKey(v uint64) []byte {
	return []byte{byte(v >> 56), byte(v >> 48), byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// BenchmarkSortEntries: a flush of one bucket in the ingest benchmark's
// shape (6,250 BIGINT keys over 250,000), radix against comparison sort.
func BenchmarkSortEntries(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 6250
	keys := make([][]byte, n)
	ents := make([]sortEntry, n)
	for i := range keys {
		keys[i] = bigEndianKey(uint64(rng.IntN(250_000)))
		p := keyPrefix(keys[i])
		ents[i] = sortEntry{p[0], p[1], int32(i)}
	}
	full := entryOrder(keys, make([]int64, n))
	work, tmp := make([]sortEntry, n), make([]sortEntry, n)
	b.Run("radix", func(b *testing.B) {
		for b.Loop() {
			copy(work, ents)
			sortEntries(work, tmp, full)
		}
	})
	b.Run("comparison", func(b *testing.B) {
		for b.Loop() {
			copy(work, ents)
			slices.SortFunc(work, full)
		}
	})
}
