package lsm

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"

	pqzstd "github.com/parquet-go/parquet-go/compress/zstd"
)

// TestZstdPagesMatchesParquetCodec: the data-file codec compresses pages
// to the bytes parquet-go's ZSTD codec (default level) gives, for empty,
// small, block-sized and larger pages, compressible or not, with its
// encoders reused in any order and from several goroutines; and its
// output decompresses to the input.
func TestZstdPagesMatchesParquetCodec(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 3))
	ref := &pqzstd.Codec{Level: pqzstd.SpeedDefault}
	c := newZstdPages()
	sizes := []int{0, 1, 100, 1 << 10, 128 << 10, 128<<10 + 1, 256 << 10, 300 << 10, 1 << 20}
	var pages [][]byte
	for range 40 {
		n := sizes[rng.IntN(len(sizes))]
		if rng.IntN(2) == 0 {
			n = rng.IntN(400 << 10)
		}
		p := make([]byte, n)
		switch rng.IntN(3) {
		case 0: // random: incompressible
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
		case 1: // few symbols, repeats
			words := [][]byte{[]byte("customer-"), []byte("@example.com"), []byte("Berlin"), {0, 0, 0, 1}}
			for i := 0; i < n; {
				i += copy(p[i:], words[rng.IntN(len(words))])
			}
		default: // sorted integers
			for i := 0; i+8 <= n; i += 8 {
				p[i+7], p[i+6] = byte(i>>3), byte(i>>11)
			}
		}
		pages = append(pages, p)
	}
	var wg sync.WaitGroup
	errs := make([]string, len(pages))
	for w := range 3 {
		wg.Go(func() {
			for i := w; i < len(pages); i += 3 {
				p := pages[i]
				want, err := ref.Encode(nil, p)
				if err != nil {
					errs[i] = err.Error()
					continue
				}
				got, err := c.Encode(make([]byte, rng2(i)), p)
				if err != nil {
					errs[i] = err.Error()
					continue
				}
				if !bytes.Equal(got, want) {
					errs[i] = "compressed bytes differ from parquet-go's codec"
					continue
				}
				back, err := c.Decode(nil, got)
				if err != nil || !bytes.Equal(back, p) {
					errs[i] = "does not decompress to the page"
				}
			}
		})
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Errorf("seed %d: page %d (%d bytes): %s", seed, i, len(pages[i]), e)
		}
	}
}

// rng2 is a destination length that varies with i (Encode must ignore
// what dst holds).
func rng2(i int) int { return (i * 37) % 64 }
