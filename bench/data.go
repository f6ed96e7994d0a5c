package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// benchDB is the database every scenario's tables live in (under Root).
const benchDB = "bench"

// benchSchema is a typical stream-state row of ~100 logical bytes: a
// BIGINT key, two strings, a DECIMAL, an INT, a DOUBLE and a TIMESTAMP.
func benchSchema(buckets int, opts map[string]string) *types.Schema {
	s := &types.Schema{
		Fields: []types.Field{
			{Name: "id", Type: types.TBigInt, NotNull: true},
			{Name: "name", Type: types.TString},
			{Name: "city", Type: types.TString},
			{Name: "amount", Type: types.TDecimal(12, 2)},
			{Name: "qty", Type: types.TInt},
			{Name: "score", Type: types.TDouble},
			{Name: "updated", Type: types.TTimestamp},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 6,
		Options:        map[string]string{table.OptBucket: fmt.Sprint(buckets)},
	}
	for k, v := range opts {
		s.Options[k] = v
	}
	return s
}

var cities = []string{"Amsterdam", "Berlin", "Copenhagen", "Dublin", "Edinburgh", "Frankfurt", "Geneva", "Helsinki",
	"Istanbul", "Jakarta", "Kyoto", "Lisbon", "Madrid", "Nairobi", "Oslo", "Prague", "Quito", "Reykjavik",
	"Santiago", "Toronto", "Utrecht", "Vienna", "Warsaw", "Xiamen", "Yokohama", "Zurich"}

// rowGen generates rows deterministically from its seed.
type rowGen struct {
	rng  *rand.Rand
	keys int64
}

func newRowGen(seed uint64, keys int) *rowGen {
	return &rowGen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), keys: int64(max(keys, 1))}
}

// randomKey is a uniformly random key of the key space.
func (g *rowGen) randomKey() int64 { return g.rng.Int64N(g.keys) }

// row returns a row for key k and its logical size in bytes (values as
// ingested, no framing).
func (g *rowGen) row(k int64) (types.Row, int64) {
	name := fmt.Sprintf("customer-%08d <user%08d@segment-%03d.example.com> tier-%d",
		g.rng.IntN(100_000_000), g.rng.IntN(100_000_000), g.rng.IntN(1000), g.rng.IntN(5))
	city := cities[g.rng.IntN(len(cities))]
	row := types.Row{k, name, city, types.Decimal(g.rng.Int64N(10_000_000)), int32(g.rng.IntN(1000)),
		math.Round(g.rng.Float64()*1e4) / 100, types.Timestamp(1_767_225_600_000_000 + g.rng.Int64N(86_400_000_000))}
	return row, int64(8 + len(name) + len(city) + 8 + 4 + 8 + 8)
}

// pebbleKey is the 8-byte big-endian key of id (order-preserving for
// non-negative ids).
func pebbleKey(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

// pebbleValue encodes a bench row compactly for the Pebble peer.
func pebbleValue(row types.Row) []byte {
	b := make([]byte, 0, 96)
	name, city := row[1].(string), row[2].(string)
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	b = binary.AppendUvarint(b, uint64(len(city)))
	b = append(b, city...)
	b = binary.BigEndian.AppendUint64(b, uint64(row[3].(types.Decimal)))
	b = binary.BigEndian.AppendUint32(b, uint32(row[4].(int32)))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(row[5].(float64)))
	b = binary.BigEndian.AppendUint64(b, uint64(row[6].(types.Timestamp)))
	return b
}

// openCatalog returns a catalog of the run's warehouse (under Root) on
// store, with the bench database created.
func (b *runner) openCatalog(ctx context.Context, store *countingStore) (*catalog.Catalog, error) {
	// Requests are counted below the retry layer, as the store sees them.
	cat := catalog.New(objstore.NewRetry(store, objstore.RetryOptions{}), b.cfg.Root, table.Env{Now: b.cfg.Now})
	if err := cat.CreateDatabase(ctx, benchDB, true); err != nil {
		return nil, err
	}
	return cat, nil
}

// tempDir makes a fresh directory under the configured temp dir.
func (b *runner) tempDir(name string) (string, error) {
	dir := filepath.Join(b.cfg.TempDir, b.cfg.RunID+"-"+name)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// loadKeys upserts a row for each of keys, in order, into t in commits of
// batch rows, then waits for inline compaction.
func (b *runner) loadKeys(ctx context.Context, t *table.Table, g *rowGen, keys []int64, batch int, user string) error {
	w := t.NewWriter(user)
	for i, k := range keys {
		row, _ := g.row(k)
		if err := w.Write(ctx, types.UpdateAfter, row); err != nil {
			_ = w.Abort(ctx)
			_ = w.Close(ctx)
			return err
		}
		if (i+1)%batch == 0 || i == len(keys)-1 {
			if _, err := w.Commit(ctx, fmt.Sprint(i)); err != nil {
				_ = w.Abort(ctx)
				_ = w.Close(ctx)
				return err
			}
		}
	}
	return w.Close(ctx)
}

// permutation returns 0..n-1 shuffled by g.
func (g *rowGen) permutation(n int) []int64 {
	p := make([]int64, n)
	for i := range p {
		p[i] = int64(i)
	}
	g.rng.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}
