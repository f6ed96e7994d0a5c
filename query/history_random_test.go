package query

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// histState is the content of a table: id -> v.
type histState map[int64]string

func (s histState) clone() histState {
	out := make(histState, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}

func (s histState) text() string {
	keys := make([]int64, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%d|%s\n", k, s[k])
	}
	return b.String()
}

// histBranch is the oracle of one branch: the state after every snapshot
// it published (compactions, which change no content, are not recorded:
// a snapshot reads as the newest recorded one at or before it).
type histBranch struct {
	ids    []int64
	states map[int64]histState
	times  map[int64]int64 // commit time (ms) of recorded snapshots
	live   bool
}

func (b *histBranch) latest() histState {
	if len(b.ids) == 0 {
		return histState{}
	}
	return b.states[b.ids[len(b.ids)-1]]
}

func (b *histBranch) at(id int64) (histState, bool) {
	i := sort.Search(len(b.ids), func(i int) bool { return b.ids[i] > id })
	if i == 0 {
		return nil, false
	}
	return b.states[b.ids[i-1]], true
}

// TestHistoryRandomized runs random writes, tags, rollbacks, branch
// creations, branch writes, fast-forwards and branch drops through SQL,
// keeping every committed state in an oracle, and checks that reads at
// random snapshot ids, tags, timestamps and branches are exact and that
// table_changes between any two snapshots of a branch, applied to the
// older state, yields the newer one.
func TestHistoryRandomized(t *testing.T) {
	seed := testkit.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 4))
	ctx := context.Background()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	cat := catalog.New(objstore.NewMem(), "", table.Env{Now: now})
	e := NewEngine(NewSiltCatalog(cat, "test"), EngineOptions{Now: func() time.Time { return testNow }})
	opts := "'bucket' = '2', 'write-buffer-size' = '1kb', 'target-file-size' = '1kb'"
	mustExec(t, e, "CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING) WITH ("+opts+")")

	branches := map[string]*histBranch{"": {states: map[int64]histState{}, times: map[int64]int64{}, live: true}}
	tags := map[string]histState{}
	var tagNames []string
	nameOf := func(b string) string {
		if b == "" {
			return "t"
		}
		return "t$branch_" + b
	}
	liveBranches := func() []string {
		var out []string
		for n, b := range branches {
			if b.live {
				out = append(out, n)
			}
		}
		sort.Strings(out)
		return out
	}
	// record notes the state a statement published as snapshot id.
	record := func(branch string, id int64, st histState) {
		t.Helper()
		b := branches[branch]
		if n := len(b.ids); n > 0 && id <= b.ids[n-1] {
			t.Fatalf("branch %q: snapshot %d not after %d", branch, id, b.ids[n-1])
		}
		res := mustExec(t, e, fmt.Sprintf("SELECT commit_time FROM %s$snapshots WHERE snapshot_id = %d", nameOf(branch), id))
		if len(res[0].Rows) != 1 {
			t.Fatalf("snapshot %d of %q not listed", id, branch)
		}
		b.ids = append(b.ids, id)
		b.states[id] = st
		b.times[id] = int64(res[0].Rows[0][0].(types.Timestamp)) / 1000
	}
	read := func(sql string) string {
		t.Helper()
		return query(t, e, sql)
	}

	const ops = 120
	var counts [8]int
	for op := 0; op < ops; op++ {
		live := liveBranches()
		br := live[rng.IntN(len(live))]
		b := branches[br]
		switch p := rng.IntN(20); {
		case p < 10: // a write
			st := b.latest().clone()
			var sql string
			switch rng.IntN(3) {
			case 0:
				var vals []string
				seen := map[int64]bool{}
				for i := 0; i < 1+rng.IntN(6); i++ {
					k := rng.Int64N(40)
					if seen[k] {
						continue
					}
					seen[k] = true
					v := fmt.Sprintf("v%d", rng.IntN(1000))
					vals = append(vals, fmt.Sprintf("(%d, '%s')", k, v))
					st[k] = v
				}
				sql = "INSERT INTO " + nameOf(br) + " VALUES " + strings.Join(vals, ", ")
			case 1:
				lo := rng.Int64N(40)
				hi := lo + rng.Int64N(6)
				v := fmt.Sprintf("u%d", rng.IntN(1000))
				for k := range st {
					if k >= lo && k <= hi {
						st[k] = v
					}
				}
				sql = fmt.Sprintf("UPDATE %s SET v = '%s' WHERE id BETWEEN %d AND %d", nameOf(br), v, lo, hi)
			default:
				lo := rng.Int64N(40)
				hi := lo + rng.Int64N(4)
				for k := range st {
					if k >= lo && k <= hi {
						delete(st, k)
					}
				}
				sql = fmt.Sprintf("DELETE FROM %s WHERE id BETWEEN %d AND %d", nameOf(br), lo, hi)
			}
			res := mustExec(t, e, sql)
			if id := res[0].SnapshotID; id != 0 {
				record(br, id, st)
			}
			counts[0]++
		case p < 12: // a tag of the branch's latest snapshot
			if len(b.ids) == 0 {
				continue
			}
			name := fmt.Sprintf("tag%d", len(tagNames))
			mustExec(t, e, "ALTER TABLE "+nameOf(br)+" CREATE TAG "+name)
			tags[name] = b.latest()
			tagNames = append(tagNames, name)
			counts[1]++
		case p < 14: // rollback to a snapshot of the branch, or a tag
			var sql string
			var st histState
			if len(tagNames) > 0 && rng.IntN(2) == 0 {
				name := tagNames[rng.IntN(len(tagNames))]
				sql, st = fmt.Sprintf("ALTER TABLE %s ROLLBACK TO VERSION '%s'", nameOf(br), name), tags[name]
			} else {
				if len(b.ids) == 0 {
					continue
				}
				id := b.ids[rng.IntN(len(b.ids))]
				sql, st = fmt.Sprintf("ALTER TABLE %s ROLLBACK TO VERSION %d", nameOf(br), id), b.states[id]
			}
			res := mustExec(t, e, sql)
			record(br, res[0].SnapshotID, st)
			counts[2]++
		case p < 16: // a branch from main's latest or from a tag
			name := fmt.Sprintf("b%d", len(branches))
			nb := &histBranch{states: map[int64]histState{}, times: map[int64]int64{}, live: true}
			main := branches[""]
			if len(tagNames) > 0 && rng.IntN(2) == 0 {
				tag := tagNames[rng.IntN(len(tagNames))]
				mustExec(t, e, fmt.Sprintf("ALTER TABLE t CREATE BRANCH %s AS OF VERSION '%s'", name, tag))
				branches[name] = nb
				res := mustExec(t, e, fmt.Sprintf("SELECT snapshot_id FROM t$tags WHERE tag_name = '%s'", tag))
				record(name, res[0].Rows[0][0].(int64), tags[tag])
			} else {
				mustExec(t, e, "ALTER TABLE t CREATE BRANCH "+name)
				branches[name] = nb
				res := mustExec(t, e, "SELECT MAX(snapshot_id) FROM t$snapshots")
				if res[0].Rows[0][0] != nil {
					record(name, res[0].Rows[0][0].(int64), main.latest())
				}
			}
			counts[3]++
		case p < 18: // fast-forward main to a branch
			if br == "" || len(b.ids) == 0 {
				continue
			}
			res := mustExec(t, e, "ALTER TABLE t FAST FORWARD TO BRANCH "+br)
			record("", res[0].SnapshotID, b.latest())
			counts[4]++
		case p < 19: // drop a branch
			if br == "" {
				continue
			}
			mustExec(t, e, "ALTER TABLE t DROP BRANCH "+br)
			b.live = false
			if _, err := e.Exec(ctx, "SELECT * FROM "+nameOf(br)); !errors.Is(err, types.ErrNotFound) {
				t.Fatalf("read of dropped branch %s: %v", br, err)
			}
			counts[5]++
		default: // a check of the current states
			for _, n := range liveBranches() {
				if got, want := read("SELECT id, v FROM "+nameOf(n)+" ORDER BY id"), branches[n].latest().text(); got != want {
					t.Fatalf("op %d: branch %q latest:\n got %q\nwant %q", op, n, got, want)
				}
			}
		}
	}
	t.Logf("writes %d, tags %d, rollbacks %d, branches %d, fast-forwards %d, drops %d", counts[0], counts[1], counts[2], counts[3], counts[4], counts[5])

	// Reads by snapshot id, tag and time on every live branch.
	checks := 0
	for _, n := range liveBranches() {
		b := branches[n]
		if len(b.ids) == 0 {
			continue
		}
		for i := 0; i < 8; i++ {
			id := b.ids[0] + rng.Int64N(b.ids[len(b.ids)-1]-b.ids[0]+1)
			want, _ := b.at(id)
			if got := read(fmt.Sprintf("SELECT id, v FROM %s VERSION AS OF %d ORDER BY id", nameOf(n), id)); got != want.text() {
				t.Fatalf("branch %q snapshot %d:\n got %q\nwant %q", n, id, got, want.text())
			}
			rid := b.ids[rng.IntN(len(b.ids))]
			ts := time.UnixMilli(b.times[rid]).UTC().Format("2006-01-02 15:04:05.000")
			// The newest recorded snapshot at or before that time.
			var best int64
			for _, x := range b.ids {
				if b.times[x] <= b.times[rid] {
					best = x
				}
			}
			if got := read(fmt.Sprintf("SELECT id, v FROM %s TIMESTAMP AS OF '%s' ORDER BY id", nameOf(n), ts)); got != b.states[best].text() {
				t.Fatalf("branch %q at %s (snapshot %d):\n got %q\nwant %q", n, ts, best, got, b.states[best].text())
			}
			checks += 2
		}
		before := time.UnixMilli(b.times[b.ids[0]] - 1000).UTC().Format("2006-01-02 15:04:05")
		if _, err := e.Exec(ctx, fmt.Sprintf("SELECT * FROM %s TIMESTAMP AS OF '%s'", nameOf(n), before)); !errors.Is(err, types.ErrNotFound) {
			t.Fatalf("branch %q: read before its first snapshot: %v", n, err)
		}
	}
	for _, name := range tagNames {
		for _, n := range liveBranches() {
			if got := read(fmt.Sprintf("SELECT id, v FROM %s VERSION AS OF '%s' ORDER BY id", nameOf(n), name)); got != tags[name].text() {
				t.Fatalf("tag %s via %q:\n got %q\nwant %q", name, n, got, tags[name].text())
			}
			checks++
		}
	}

	// table_changes between random pairs of a branch's snapshots (and
	// from the empty table), applied to the older state.
	for _, n := range liveBranches() {
		b := branches[n]
		if len(b.ids) == 0 {
			continue
		}
		for i := 0; i < 12; i++ {
			// b after a, or a = 0: the empty table (for a branch, whose
			// snapshots before its first are missing, one diff).
			j := rng.IntN(len(b.ids))
			bID := b.ids[j]
			aID := int64(0)
			from := histState{}
			if k := rng.IntN(j+2) - 1; k >= 0 {
				aID, from = b.ids[k], b.states[b.ids[k]]
			}
			res := mustExec(t, e, fmt.Sprintf("SELECT rowkind, id, v FROM table_changes('%s', %d, %d)", nameOf(n), aID, bID))
			st := from.clone()
			for _, row := range res[0].Rows {
				k := row[1].(int64)
				switch row[0].(string) {
				case "+I", "+U":
					st[k] = row[2].(string)
				default:
					delete(st, k)
				}
			}
			if st.text() != b.states[bID].text() {
				t.Fatalf("branch %q: table_changes(%d, %d) applied to %d:\n got %q\nwant %q", n, aID, bID, aID, st.text(), b.states[bID].text())
			}
			checks++
		}
	}
	t.Logf("%d checked reads and change sets", checks)
}
