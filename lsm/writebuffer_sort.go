package lsm

import "slices"

// radixMinEntries is the smallest flush sorted by radix: below it the
// comparison sort's fixed cost is lower than the histograms'.
const radixMinEntries = 256

// sortEntries sorts ents into the order of full, a strict total order
// that compares p0, then p1, before anything else (FlushRun's order). It
// sorts by (p0, p1) with a stable least-significant-digit radix sort over
// the bytes in which the entries' prefixes differ (for small integer
// keys, two or three of the sixteen), then orders each run of equal
// prefixes with full: entries whose keys share their first 16 bytes, or
// the writes of one key. tmp has len(ents) entries of scratch. A
// comparison sort costs n·log n calls of full; this costs a histogram and
// a scatter per differing byte.
func sortEntries(ents, tmp []sortEntry, full func(x, y sortEntry) int) {
	n := len(ents)
	if n < radixMinEntries {
		slices.SortFunc(ents, full)
		return
	}
	// The bytes in which some prefix differs from the first one.
	var d0, d1 uint64
	f0, f1 := ents[0].p0, ents[0].p1
	for _, e := range ents {
		d0 |= e.p0 ^ f0
		d1 |= e.p1 ^ f1
	}
	src, dst := ents, tmp[:n]
	// Least significant first: p1's bytes, then p0's.
	for pass := range 16 {
		word, shift := d1, uint(pass*8)
		if pass >= 8 {
			word, shift = d0, uint((pass-8)*8)
		}
		if (word>>shift)&0xff == 0 {
			continue // every entry has the same byte here
		}
		var count [256]int
		if pass < 8 {
			for _, e := range src {
				count[(e.p1>>shift)&0xff]++
			}
		} else {
			for _, e := range src {
				count[(e.p0>>shift)&0xff]++
			}
		}
		at := 0
		for b, c := range count {
			count[b] = at
			at += c
		}
		if pass < 8 {
			for _, e := range src {
				b := (e.p1 >> shift) & 0xff
				dst[count[b]] = e
				count[b]++
			}
		} else {
			for _, e := range src {
				b := (e.p0 >> shift) & 0xff
				dst[count[b]] = e
				count[b]++
			}
		}
		src, dst = dst, src
	}
	if &src[0] != &ents[0] {
		copy(ents, src)
	}
	// Runs of equal prefixes, in full's order.
	for i := 0; i < n; {
		j := i + 1
		for j < n && ents[j].p0 == ents[i].p0 && ents[j].p1 == ents[i].p1 {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(ents[i:j], full)
		}
		i = j
	}
}
