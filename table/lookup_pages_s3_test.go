package table

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// byteCountingStore counts the GETs of data files and the bytes they
// returned.
type byteCountingStore struct {
	objstore.Store
	gets, bytes atomic.Int64
}

func (c *byteCountingStore) Get(ctx context.Context, key string) ([]byte, objstore.ObjectInfo, error) {
	b, info, err := c.Store.Get(ctx, key)
	if strings.Contains(key, "/data/") {
		c.gets.Add(1)
		c.bytes.Add(int64(len(b)))
	}
	return b, info, err
}

func (c *byteCountingStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	b, err := c.Store.GetRange(ctx, key, off, n)
	if strings.Contains(key, "/data/") {
		c.gets.Add(1)
		c.bytes.Add(int64(len(b)))
	}
	return b, err
}

// TestPagedLookupS3: on MinIO, with the metadata cache holding the
// footer, a cold Get of a table of one large row group reads pages, not
// the row group: at most 64 KB and at most one ranged GET per column plus
// the _key page; GetMany makes at most one GET per distinct page.
func TestPagedLookupS3(t *testing.T) {
	ctx := context.Background()
	store := &byteCountingStore{Store: objstore.NewRetry(s3test.NewStore(t), objstore.RetryOptions{})}
	schema := modelSchema(EngineDeduplicate, 1, false)
	schema.Options[OptWriteBufferSize] = "64mb"
	schema.Options[OptRowGroupRows] = "65536"
	schema.Options[OptPageSize] = "16kb" // a table read by key (the default 256 KiB pages favour scans)
	tb, err := Open("db.t", store, "wh/db.db/t/", schema, Env{Meta: NewMetaCache(64 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 30000
	rng := rand.New(rand.NewPCG(5, 6))
	w := tb.NewWriter("s3")
	notes := make([]string, n)
	for i := range n {
		notes[i] = fmt.Sprintf("note %d %x", i, rng.Uint64())
		mustWrite(t, w, types.Insert, types.Row{"eu", int32(i), int64(i), notes[i], types.Decimal(rng.Int64N(1e6))})
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	w.Close(ctx)
	if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	_, files, err := tb.DataFiles(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("%d data files, want 1", len(files))
	}
	snap, err := tb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := tb.Get(ctx, snap.ID, "eu", int32(0)); err != nil || !ok { // caches the footer
		t.Fatal(ok, err)
	}
	const lookups = 40
	var gets, read int64
	for range lookups {
		id := int32(rng.IntN(n))
		g0, b0 := store.gets.Load(), store.bytes.Load()
		row, ok, err := tb.Get(ctx, snap.ID, "eu", id)
		if err != nil || !ok || row[2] != int64(id) || row[3] != notes[id] {
			t.Fatalf("Get %d = %v,%v,%v", id, row, ok, err)
		}
		g, b := store.gets.Load()-g0, store.bytes.Load()-b0
		gets, read = gets+g, read+b
		if b > 64<<10 || g > int64(len(schema.Fields))+3+1 {
			t.Fatalf("Get %d made %d data GETs reading %d bytes of a %d-byte file", id, g, b, files[0].Size)
		}
	}
	t.Logf("cold Get with the footer cached: %.2f data GETs, %.1f KB per lookup (file %d bytes)", float64(gets)/lookups, float64(read)/1e3/lookups, files[0].Size)

	var ks [][]types.Value
	for range 500 {
		ks = append(ks, []types.Value{"eu", int32(rng.IntN(n))})
	}
	g0, b0 := store.gets.Load(), store.bytes.Load()
	rows, found, st, err := tb.GetManyStats(ctx, snap.ID, ks)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range ks {
		if !found[i] || rows[i][2] != int64(k[1].(int32)) {
			t.Fatalf("GetMany %v = %v,%v", k, rows[i], found[i])
		}
	}
	g, b := store.gets.Load()-g0, store.bytes.Load()-b0
	t.Logf("GetMany of %d keys: %d data GETs, %d KB, %+v", len(ks), g, b/1000, st)
	if st.Pages == 0 || g > int64(st.Pages) {
		t.Fatalf("GetMany made %d data GETs for %d distinct pages", g, st.Pages)
	}
}
