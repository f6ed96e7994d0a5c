package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/siltdb/silt/query"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// demoConfig sizes the demo changelog.
type demoConfig struct {
	keys    int   // keys inserted by the first commit
	commits int   // changelog commits after the first
	ops     int   // operations per changelog commit
	seed    int64 // random seed of the changelog
}

func (a *app) cmdDemo(ctx context.Context, args []string) error {
	cfg := demoConfig{keys: 3000, commits: 5, ops: 800, seed: 42}
	if a.g.warehouse == "" {
		a.g.warehouse = "./silt-demo"
	}
	if _, err := a.parseFlags("demo", args, func(fs *flag.FlagSet) {
		fs.IntVar(&cfg.keys, "keys", cfg.keys, "keys inserted by the first commit")
		fs.IntVar(&cfg.commits, "commits", cfg.commits, "changelog commits after the first")
		fs.IntVar(&cfg.ops, "ops", cfg.ops, "changes per changelog commit")
		fs.Int64Var(&cfg.seed, "seed", cfg.seed, "random seed of the changelog")
	}, "[--warehouse DIR] [--keys N] [--commits N] [--ops N] [--seed S]"); err != nil {
		return err
	}
	if cfg.keys < 1 || cfg.commits < 0 || cfg.ops < 0 {
		return fmt.Errorf("%w: --keys must be >= 1, --commits and --ops >= 0", errUsage)
	}
	cat, err := a.createWarehouse(ctx)
	if err != nil {
		return err
	}
	out := a.stdout
	start := time.Now()
	fmt.Fprintf(out, "silt demo: warehouse %s\n\n", a.g.warehouse)

	if err := cat.CreateDatabase(ctx, "demo", true); err != nil {
		return err
	}
	if err := cat.DropTable(ctx, "demo", "accounts", true); err != nil {
		return err
	}
	schema := &types.Schema{
		Fields: []types.Field{
			{Name: "id", Type: types.TBigInt},
			{Name: "owner", Type: types.TString},
			{Name: "region", Type: types.TString},
			{Name: "balance", Type: types.TDecimal(12, 2)},
			{Name: "status", Type: types.TString},
			{Name: "updated_at", Type: types.TTimestamp},
		},
		PrimaryKeys: []string{"id"},
		Options:     map[string]string{table.OptBucket: "4"},
	}
	t, err := cat.CreateTable(ctx, "demo", "accounts", schema, false)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "created table demo.accounts (id BIGINT PRIMARY KEY, owner, region, balance DECIMAL(12,2), status, updated_at) with 4 buckets")

	gen := newChangelog(cfg.seed)
	k, err := startDemoKafka(ctx, out)
	if err != nil {
		return err
	}
	defer k.close()
	for c := 0; c <= cfg.commits; c++ {
		var changes []change
		if c == 0 {
			changes = gen.inserts(cfg.keys)
		} else {
			changes = gen.mixed(cfg.ops)
		}
		bad := 0
		if c == cfg.commits && c > 0 {
			bad = 2 // the last phase carries two malformed records to the DLQ
		}
		if err := k.phase(ctx, t, c+1, changes, bad, len(gen.state)); err != nil {
			return err
		}
	}
	if err := k.summary(ctx, t); err != nil {
		return err
	}

	// Verify the table against the changelog's own model.
	scan, err := t.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		return err
	}
	n := 0
	for row, err := range scan.Rows(ctx) {
		if err != nil {
			return err
		}
		want, ok := gen.state[row[0].(int64)]
		if !ok || !rowsEqual(row, want) {
			return fmt.Errorf("demo: verification failed for id %v: table has %v, changelog says %v", row[0], row, want)
		}
		n++
	}
	if n != len(gen.state) {
		return fmt.Errorf("demo: verification failed: table has %d keys, changelog says %d", n, len(gen.state))
	}
	fmt.Fprintf(out, "\nverified: the latest snapshot holds exactly the %d keys the changelog left, with their last values\n", n)

	eng := query.NewEngine(query.NewSiltCatalog(cat, "demo-sql"), query.EngineOptions{CurrentDB: "demo", Now: time.Now})
	for _, q := range []struct{ title, sql string }{
		{"Latest state, by status", "SELECT status, COUNT(*) AS accounts, SUM(balance) AS total FROM demo.accounts GROUP BY status ORDER BY status"},
		{"Point lookup by primary key", "SELECT * FROM demo.accounts WHERE id = 42"},
		{"The same table at snapshot 1 (time travel)", "SELECT COUNT(*) AS accounts, SUM(balance) AS total FROM demo.accounts VERSION AS OF 1"},
		{"Snapshot history: one APPEND per sink commit (the identifier is derived from the offsets)", "SELECT snapshot_id, commit_kind, commit_identifier, total_record_count, delta_record_count FROM demo.accounts$snapshots WHERE commit_kind = 'APPEND' ORDER BY snapshot_id"},
		{"Compactions the writer ran meanwhile", "SELECT COUNT(*) AS compactions FROM demo.accounts$snapshots WHERE commit_kind = 'COMPACT'"},
	} {
		fmt.Fprintf(out, "\n-- %s\nsilt> %s;\n", q.title, q.sql)
		if err := a.execPrint(ctx, eng, q.sql); err != nil {
			return err
		}
	}
	if err := k.export(ctx, t); err != nil {
		return err
	}
	fmt.Fprintf(out, "\ndone in %s. Explore it yourself:\n  go run ./cmd/silt --warehouse %s sql\n", time.Since(start).Round(time.Millisecond), a.g.warehouse)
	return nil
}

func rowsEqual(a, b types.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !types.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

type change struct {
	kind types.RowKind
	row  types.Row
}

// changelog generates a realistic account changelog and keeps the state it
// implies, as the demo's oracle.
type changelog struct {
	rng   *rand.Rand
	state map[int64]types.Row
	ids   []int64
	next  int64
	clock time.Time
}

var (
	demoOwners   = []string{"ada", "grace", "edsger", "barbara", "ken", "dennis", "margaret", "alan", "frances", "john"}
	demoRegions  = []string{"eu-west", "us-east", "ap-south"}
	demoStatuses = []string{"active", "frozen", "closed"}
)

func newChangelog(seed int64) *changelog {
	return &changelog{
		rng:   rand.New(rand.NewPCG(uint64(seed), 0x5117)),
		state: map[int64]types.Row{},
		next:  1,
		clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func (g *changelog) tick() types.Timestamp {
	g.clock = g.clock.Add(time.Duration(g.rng.IntN(5000)) * time.Millisecond)
	return types.TimestampOf(g.clock)
}

func (g *changelog) newRow(id int64) types.Row {
	return types.Row{
		id,
		fmt.Sprintf("%s-%d", demoOwners[g.rng.IntN(len(demoOwners))], id),
		demoRegions[g.rng.IntN(len(demoRegions))],
		types.Decimal(g.rng.Int64N(10_000_00)),
		"active",
		g.tick(),
	}
}

func (g *changelog) inserts(n int) []change {
	out := make([]change, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, g.insert())
	}
	return out
}

func (g *changelog) insert() change {
	id := g.next
	g.next++
	row := g.newRow(id)
	g.state[id] = row
	g.ids = append(g.ids, id)
	return change{types.Insert, row}
}

// mixed returns n operations: ~70% updates, ~15% deletes, ~15% inserts.
// An update emits the -U before-image and the +U after-image.
func (g *changelog) mixed(n int) []change {
	var out []change
	for i := 0; i < n; i++ {
		p := g.rng.IntN(100)
		if len(g.state) == 0 || p >= 85 {
			out = append(out, g.insert())
			continue
		}
		// pick a live key
		var id int64
		for {
			j := g.rng.IntN(len(g.ids))
			id = g.ids[j]
			if _, ok := g.state[id]; ok {
				break
			}
			g.ids[j] = g.ids[len(g.ids)-1]
			g.ids = g.ids[:len(g.ids)-1]
		}
		old := g.state[id]
		if p < 70 {
			row := append(types.Row(nil), old...)
			row[3] = types.Decimal(int64(old[3].(types.Decimal)) + g.rng.Int64N(200_00) - 100_00)
			if g.rng.IntN(10) == 0 {
				row[4] = demoStatuses[g.rng.IntN(len(demoStatuses))]
			}
			row[5] = g.tick()
			out = append(out, change{types.UpdateBefore, old}, change{types.UpdateAfter, row})
			g.state[id] = row
		} else {
			out = append(out, change{types.Delete, old})
			delete(g.state, id)
		}
	}
	return out
}
