package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// TestEvolutionRandom interleaves random schema changes (under random
// compatibility modes), writes by writers opened on old and new schemas,
// and reads at the latest snapshot and at old ones (with the snapshot's
// own schema and projected onto the current one), and compares every read
// with an oracle that tracks values by field id. Writers' inline
// compaction is kept from triggering; TestEvolutionRandomCompaction turns
// it on.
func TestEvolutionRandom(t *testing.T) { testEvolutionRandom(t, false) }

// TestEvolutionRandomCompaction is TestEvolutionRandom with writers'
// inline compaction triggering often.
func TestEvolutionRandomCompaction(t *testing.T) { testEvolutionRandom(t, true) }

func testEvolutionRandom(t *testing.T, compact bool) {
	opts, ok := evolutionOptions(compact)
	if !ok {
		t.Fatal("table option " + compactionTrigger + " is unknown: inline compaction is part of silt, this test must run")
	}
	for _, seed := range testkit.Seeds(t, 3) {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			runEvolution(t, seed, 90, opts)
		})
	}
}

const compactionTrigger = "num-sorted-run.compaction-trigger"

// evolutionOptions are the table options of the random test: writers'
// inline compaction (where the build has it) triggers at 2 sorted runs, or
// never. ok is false if compaction is wanted and the build has none.
func evolutionOptions(compact bool) (opts map[string]string, ok bool) {
	o := map[string]string{"bucket": "2", "schema.compatibility": "none"}
	trigger := "1000"
	if compact {
		trigger = "2"
	}
	if _, err := table.ParseOptions(map[string]string{compactionTrigger: trigger}); err != nil {
		return o, !compact
	}
	o[compactionTrigger] = trigger
	return o, true
}

// oracleRow is one live row as its writer wrote it: values by field id in
// the writer schema's types.
type oracleRow struct {
	vals   map[int]types.Value
	writer *types.Schema
}

type oracleSnap struct {
	rows     map[string]oracleRow // key text → row
	schemaID int64                // the schema time travel reads it with
}

// The oracle's snapshots are the table's: e.snaps[i] is snapshot i+1. A
// snapshot the test did not commit itself (a compaction, e.g. inline in a
// writer) holds the same rows as its parent; time travel reads every
// snapshot with the newest schema any of its data was written with, so a
// compaction's schema counts from there on.

type evolution struct {
	t        *testing.T
	ctx      context.Context
	rnd      *rand.Rand
	cat      *Catalog
	schemas  []*types.Schema
	snaps    []oracleSnap // snaps[i] is snapshot i+1
	writers  []*table.Table
	mine     map[int64]oracleSnap // snapshots the test committed
	commits  int
	rejected int
	reads    int
}

func runEvolution(t *testing.T, seed uint64, steps int, opts map[string]string) {
	ctx := context.Background()
	e := &evolution{t: t, ctx: ctx, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	e.mine = map[int64]oracleSnap{}
	e.cat = New(objstore.NewMem(), "", table.Env{})
	if err := e.cat.CreateDatabase(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	tb, err := e.cat.CreateTable(ctx, "db", "t", &types.Schema{
		Fields: []types.Field{
			{Name: "region", Type: types.TString},
			{Name: "id", Type: types.TInt},
			{Name: "a", Type: types.TBigInt},
			{Name: "b", Type: types.TInt},
			{Name: "c", Type: types.TString, NotNull: true},
			{Name: "d", Type: types.TDecimal(10, 2)},
			{Name: "e", Type: types.TFloat},
		},
		PrimaryKeys:   []string{"region", "id"},
		PartitionKeys: []string{"region"},
		Options:       opts,
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	e.schemas = []*types.Schema{tb.Schema()}
	e.writers = []*table.Table{tb}
	for step := range steps {
		switch p := e.rnd.IntN(10); {
		case p < 5:
			e.write(step)
		case p < 7:
			e.alter()
		default:
			e.read()
		}
	}
	e.readLatest()
	t.Logf("%d schema versions, %d snapshots (%d commits, %d compactions), %d writes rejected by the mode, %d reads",
		len(e.schemas), len(e.snaps), e.commits, len(e.snaps)-len(e.mine), e.rejected, e.reads)
}

func (e *evolution) latest() *types.Schema { return e.schemas[len(e.schemas)-1] }

func keyText(region string, id int32) string { return region + "/" + strconv.Itoa(int(id)) }

// value returns a random value of type dt (NULL sometimes when nullable).
func (e *evolution) value(dt types.DataType, nullable bool) types.Value {
	if nullable && e.rnd.IntN(5) == 0 {
		return nil
	}
	switch dt.Kind {
	case types.Boolean:
		return e.rnd.IntN(2) == 0
	case types.Int:
		return int32(e.rnd.IntN(2000) - 1000)
	case types.BigInt:
		return e.rnd.Int64N(1<<40) - 1<<39
	case types.Float:
		return float32(e.rnd.IntN(1000)) / 8
	case types.Double:
		return float64(e.rnd.IntN(1000)) / 16
	case types.DecimalKind:
		limit := int64(1)
		for range dt.Precision {
			limit *= 10
		}
		return types.Decimal(e.rnd.Int64N(min(limit, 1_000_000)))
	case types.String:
		return "s" + strconv.Itoa(e.rnd.IntN(100))
	case types.DateKind:
		return types.Date(e.rnd.IntN(20000))
	}
	panic("no generator for " + dt.String())
}

// write commits a few rows through a random writer (an old or the latest
// schema).
func (e *evolution) write(step int) {
	tb := e.writers[e.rnd.IntN(len(e.writers))]
	if e.rnd.IntN(3) == 0 { // a writer on a random older version
		v := e.schemas[e.rnd.IntN(len(e.schemas))].ID
		var err error
		if tb, err = e.writers[len(e.writers)-1].AtSchema(e.ctx, v); err != nil {
			e.t.Fatal(err)
		}
	}
	ws := tb.Schema()
	w := tb.NewWriter("writer-" + strconv.Itoa(step))
	type change struct {
		key string
		row oracleRow
		del bool
	}
	var changes []change
	for range 1 + e.rnd.IntN(8) {
		region := []string{"eu", "us"}[e.rnd.IntN(2)]
		id := int32(e.rnd.IntN(16))
		row := make(types.Row, len(ws.Fields))
		vals := map[int]types.Value{}
		del := e.rnd.IntN(5) == 0
		for i, f := range ws.Fields {
			switch f.Name {
			case ws.PrimaryKeys[0]:
				row[i] = region
			case ws.PrimaryKeys[1]:
				row[i] = id
			default:
				if !del {
					row[i] = e.value(f.Type, !f.NotNull)
				}
			}
			vals[f.ID] = row[i]
		}
		kind := types.Insert
		if del {
			kind = types.Delete
		}
		if err := w.Write(e.ctx, kind, row); err != nil {
			e.t.Fatalf("write %v with schema %d: %v", row, ws.ID, err)
		}
		changes = append(changes, change{keyText(region, id), oracleRow{vals, ws}, del})
	}
	e.sync()
	snap, err := w.Commit(e.ctx, "1")
	if err != nil {
		if !errors.Is(err, ErrIncompatible) {
			e.t.Fatalf("commit with schema %d: %v", ws.ID, err)
		}
		if err := w.Abort(e.ctx); err != nil {
			e.t.Fatal(err)
		}
		e.rejected++
		return
	}
	e.commits++
	// Wait for the writer's inline compaction, where the build has it, so
	// a seed replays the same history.
	if c, ok := any(w).(interface{ Close(context.Context) error }); ok {
		if err := c.Close(e.ctx); err != nil {
			e.t.Fatal(err)
		}
	}
	// The parent of our snapshot: everything before it (including
	// compactions that committed meanwhile).
	e.syncTo(snap.ID - 1)
	next := oracleSnap{rows: map[string]oracleRow{}}
	if n := len(e.snaps); n > 0 {
		next.rows = maps.Clone(e.snaps[n-1].rows)
	}
	next.schemaID = ws.ID
	for _, c := range changes {
		if c.del {
			delete(next.rows, c.key)
		} else {
			next.rows[c.key] = c.row
		}
	}
	e.mine[snap.ID] = next
	e.sync()
}

// sync appends the table's new snapshots to the oracle.
func (e *evolution) sync() { e.syncTo(1 << 62) }

// syncTo appends the table's new snapshots up to id to the oracle.
func (e *evolution) syncTo(id int64) {
	tb := e.writers[0]
	snaps, err := tb.Meta().Snapshots(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range snaps[len(e.snaps):] {
		if s.ID > id {
			break
		}
		var next oracleSnap
		var prevSchema int64
		if n := len(e.snaps); n > 0 {
			next.rows, prevSchema = e.snaps[n-1].rows, e.snaps[n-1].schemaID
		}
		if mine, ok := e.mine[s.ID]; ok {
			next = mine
		} else if s.CommitKind != "COMPACT" {
			e.t.Fatalf("snapshot %d (%s by %s) was not committed by the test", s.ID, s.CommitKind, s.CommitUser)
		} else {
			next.schemaID = s.SchemaID
		}
		next.schemaID = max(next.schemaID, prevSchema)
		e.snaps = append(e.snaps, next)
	}
}

var evoTypes = []types.DataType{types.TBoolean, types.TInt, types.TBigInt, types.TFloat, types.TDouble, types.TDecimal(11, 1), types.TString, types.TDate}

// randomChange proposes a change of the latest schema; some are invalid or
// incompatible on purpose.
func (e *evolution) randomChange() SchemaChange {
	s := e.latest()
	f := s.Fields[e.rnd.IntN(len(s.Fields))]
	switch e.rnd.IntN(9) {
	case 0, 1:
		dt := evoTypes[e.rnd.IntN(len(evoTypes))]
		c := SchemaChange{Kind: AddColumn, Column: fmt.Sprintf("f%d", s.HighestFieldID+1), Type: dt, NotNull: e.rnd.IntN(3) == 0}
		if e.rnd.IntN(2) == 0 {
			text := types.FormatValue(e.value(dt, false), dt)
			c.Default = &text
		}
		if e.rnd.IntN(3) == 0 {
			c.Position = ColumnPosition{After: f.Name}
		}
		return c
	case 2:
		return SchemaChange{Kind: DropColumn, Column: f.Name}
	case 3:
		return SchemaChange{Kind: RenameColumn, Column: f.Name, NewName: f.Name + "x"}
	case 4:
		wider := map[types.Kind]types.DataType{types.Int: types.TBigInt, types.Float: types.TDouble,
			types.DecimalKind: types.TDecimal(min(f.Type.Precision+2, 18), f.Type.Scale), types.String: types.TInt}
		if dt, ok := wider[f.Type.Kind]; ok {
			return SchemaChange{Kind: UpdateColumnType, Column: f.Name, Type: dt}
		}
		return SchemaChange{Kind: UpdateColumnType, Column: f.Name, Type: types.TString}
	case 5, 6:
		return SchemaChange{Kind: UpdateColumnNullability, Column: f.Name, NotNull: !f.NotNull}
	case 7:
		return SchemaChange{Kind: UpdateColumnComment, Column: f.Name, Comment: "c" + strconv.Itoa(e.rnd.IntN(9))}
	}
	return SchemaChange{Kind: SetOptions, Options: map[string]string{"schema.compatibility": string(allModes[e.rnd.IntN(len(allModes))])}}
}

func (e *evolution) alter() {
	changes := []SchemaChange{e.randomChange()}
	if e.rnd.IntN(4) == 0 {
		changes = append(changes, e.randomChange())
	}
	s, err := e.cat.AlterTable(e.ctx, "db", "t", changes)
	if err != nil {
		if !errors.Is(err, types.ErrInvalid) {
			e.t.Fatalf("ALTER %s: %v", describeChanges(changes), err)
		}
		return
	}
	if s.ID != e.latest().ID {
		if s.ID != e.latest().ID+1 {
			e.t.Fatalf("ALTER %s produced schema %d after %d", describeChanges(changes), s.ID, e.latest().ID)
		}
		e.schemas = append(e.schemas, s)
	}
	tb, err := e.cat.LoadTable(e.ctx, "db", "t")
	if err != nil {
		e.t.Fatal(err)
	}
	if tb.Schema().ID != e.latest().ID {
		e.t.Fatalf("loaded schema %d, oracle %d", tb.Schema().ID, e.latest().ID)
	}
	e.writers = append(e.writers, tb)
}

// project is what readers of schema r see of an oracle row: values of
// fields the writer had (widened to r's types), else r's default or NULL.
func project(row oracleRow, r *types.Schema) (types.Row, error) {
	out := make(types.Row, len(r.Fields))
	for i := range r.Fields {
		f := &r.Fields[i]
		v, ok := row.vals[f.ID]
		if !ok || row.writer.FieldByID(f.ID) < 0 {
			def, err := f.DefaultValue()
			if err != nil {
				return nil, err
			}
			out[i] = def
			continue
		}
		out[i] = widen(v, f.Type)
	}
	return out, nil
}

func widen(v types.Value, to types.DataType) types.Value {
	switch x := v.(type) {
	case int32:
		if to.Kind == types.BigInt {
			return int64(x)
		}
	case float32:
		if to.Kind == types.Double {
			return float64(x)
		}
	}
	return v
}

func (e *evolution) read() {
	e.reads++
	e.sync()
	if len(e.snaps) == 0 || e.rnd.IntN(3) == 0 {
		e.readLatest()
		return
	}
	tb, err := e.cat.LoadTable(e.ctx, "db", "t")
	if err != nil {
		e.t.Fatal(err)
	}
	snap := int64(1 + e.rnd.IntN(len(e.snaps)))
	own := e.rnd.IntN(2) == 0
	want := e.schemas[e.snaps[snap-1].schemaID]
	if !own {
		want = tb.Schema()
	}
	if e.rnd.IntN(4) == 0 { // a point lookup
		keys := slices.Sorted(maps.Keys(e.snaps[snap-1].rows))
		if len(keys) == 0 {
			return
		}
		k := keys[e.rnd.IntN(len(keys))]
		var region string
		var id int
		if _, err := fmt.Sscanf(k, "%2s/%d", &region, &id); err != nil {
			e.t.Fatal(err)
		}
		got, ok, err := tb.Get(e.ctx, snap, region, int32(id))
		exp, _ := project(e.snaps[snap-1].rows[k], tb.Schema())
		if err != nil || !ok || fmt.Sprint(got) != fmt.Sprint(exp) {
			e.t.Fatalf("Get(%s) at snapshot %d: %v %v %v, oracle %v", k, snap, got, ok, err, exp)
		}
		return
	}
	e.compare(tb, table.ScanOptions{SnapshotID: snap, SnapshotSchema: own}, e.snaps[snap-1], want)
}

func (e *evolution) readLatest() {
	e.sync()
	tb, err := e.cat.LoadTable(e.ctx, "db", "t")
	if err != nil {
		e.t.Fatal(err)
	}
	var last oracleSnap
	if n := len(e.snaps); n > 0 {
		last = e.snaps[n-1]
	}
	e.compare(tb, table.ScanOptions{}, last, tb.Schema())
}

func (e *evolution) compare(tb *table.Table, o table.ScanOptions, snap oracleSnap, want *types.Schema) {
	sc, err := tb.NewScan(e.ctx, o)
	if err != nil {
		e.t.Fatalf("scan %+v: %v", o, err)
	}
	if sc.Schema().ID != want.ID {
		e.t.Fatalf("scan %+v reads with schema %d, oracle %d", o, sc.Schema().ID, want.ID)
	}
	got := map[string]string{}
	ki, ii := want.KeyIndexes()[0], want.KeyIndexes()[1]
	for row, err := range sc.Rows(e.ctx) {
		if err != nil {
			e.t.Fatalf("scan %+v: %v", o, err)
		}
		got[keyText(row[ki].(string), row[ii].(int32))] = fmt.Sprint(row)
	}
	diffs := 0
	for k, r := range snap.rows {
		exp, err := project(r, want)
		if err != nil {
			e.t.Fatal(err)
		}
		if got[k] != fmt.Sprint(exp) {
			diffs++
			e.t.Errorf("scan %+v key %s: got %s, oracle %v (written with schema %d)", o, k, got[k], exp, r.writer.ID)
		}
	}
	for k := range got {
		if _, ok := snap.rows[k]; !ok {
			diffs++
			e.t.Errorf("scan %+v: unexpected key %s", o, k)
		}
	}
	if diffs > 0 {
		e.t.FailNow()
	}
}
