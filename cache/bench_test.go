package cache

import (
	"fmt"
	"testing"

	"github.com/siltdb/silt/objstore"
)

// BenchmarkCacheGetRange reads ranges of a 16 MiB data file on Mem:
// straight from the origin, through the cache on a hit (the block files
// are read and checksummed), and through the cache on a miss (metadata
// and blocks dropped before every read: Stat, ranged GET, block file
// writes, index batch).
func BenchmarkCacheGetRange(b *testing.B) {
	ctx := b.Context()
	const key = "t/data/bucket-0/data-1.parquet"
	data := randBytes(9, 16<<20)
	origin := objstore.NewMem()
	if _, err := origin.Put(ctx, key, data); err != nil {
		b.Fatal(err)
	}
	for _, size := range []int64{4 << 10, 1 << 20} {
		off := func(i int) int64 { return int64(i*7919*4096) % (int64(len(data)) - size) }
		b.Run(fmt.Sprintf("origin-only/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; b.Loop(); i++ {
				if _, err := origin.GetRange(ctx, key, off(i), size); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("hit/%dKiB", size>>10), func(b *testing.B) {
			c := openTest(b, b.TempDir(), 64<<20, Options{})
			s := c.Wrap(origin, "hot")
			if _, _, err := s.Get(ctx, key); err != nil { // warm every block
				b.Fatal(err)
			}
			b.SetBytes(size)
			for i := 0; b.Loop(); i++ {
				if _, err := s.GetRange(ctx, key, off(i), size); err != nil {
					b.Fatal(err)
				}
			}
			if st := c.Stats().Tiers["hot"]; st.Misses != 1 {
				b.Fatalf("hit benchmark missed: %+v", st)
			}
		})
		b.Run(fmt.Sprintf("miss/%dKiB", size>>10), func(b *testing.B) {
			c := openTest(b, b.TempDir(), 64<<20, Options{})
			s := c.Wrap(origin, "hot")
			b.SetBytes(size)
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				c.invalidate(objKey{"hot", key})
				b.StartTimer()
				if _, err := s.GetRange(ctx, key, off(i), size); err != nil {
					b.Fatal(err)
				}
			}
			if st := c.Stats().Tiers["hot"]; st.Hits != 0 {
				b.Fatalf("miss benchmark hit: %+v", st)
			}
		})
	}
}
