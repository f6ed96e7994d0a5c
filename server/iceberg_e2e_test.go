package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// locations
	icetable "github.com/apache/iceberg-go/table"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/icebergview"
	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/lifecycle"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/query"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// e2eTable is one table of the end-to-end history.
type e2eTable struct {
	name    string
	options string
	// merged: partial-update and aggregation tables, whose files hold
	// what SELECT returns only after a full compaction.
	merged bool
	// leadKey: the partition column is the first column (field id 0).
	leadKey bool
	// tiered: its data files move to the cold tier now and then.
	tiered      bool
	tieredFiles int
	extra       []string // added value columns, in order
	added       int      // columns added so far (names c1, c2, …)
	branch      bool     // branch dev exists
	devCommits  int      // commits on branch dev
	tags        []string
	// off: the view is not enabled yet (the table turns it on with ALTER
	// TABLE … SET at step enableAt, publishing its retained history).
	off      bool
	enableAt int
	// nested: the table has ARRAY, MAP and ROW columns (tags, info, m);
	// rowFields are the fields of ROW info (all STRING), which schema
	// changes add, rename and drop.
	nested    bool
	rowFields []string
	// fullSnaps are the snapshots full compactions of a merged table
	// committed: the ones comparable through the Iceberg view.
	fullSnaps map[int64]bool
}

// e2eHarness runs silt SQL and reads through the /iceberg catalog with
// iceberg-go's REST client and scanner.
type e2eHarness struct {
	t   *testing.T
	ctx context.Context
	rng *rand.Rand
	cat *catalog.Catalog
	eng *query.Engine
	rc  *rest.Catalog

	bucketURI string // s3://bucket/
	coldURI   string // s3://bucket/prefix of the cold tier

	tables []*e2eTable

	mu      sync.Mutex
	pubErrs []string
}

// TestIcebergRESTEndToEnd writes randomized histories into silt tables
// with the Iceberg view enabled (deduplicate and first-row: inserts,
// updates, deletes, partitions, added, renamed and dropped columns,
// compaction, expiry, tags and a branch; partial-update and aggregation:
// compared after full compactions), serves them on /iceberg, and checks
// with iceberg-go's REST catalog client and scanner, on the real MinIO,
// that every published snapshot and ref reads as silt's SELECT * at that
// snapshot.
func TestIcebergRESTEndToEnd(t *testing.T) {
	store := s3test.NewStore(t)
	seed := testkit.Seed(t)
	ctx := context.Background()
	s3cfg := store.Config()
	h := &e2eHarness{t: t, ctx: ctx, rng: rand.New(rand.NewPCG(seed, 0x1ce)), bucketURI: "s3://" + s3cfg.Bucket + "/"}
	pub := &icebergview.Publisher{Base: icebergview.S3Base(s3cfg.Bucket, s3cfg.Prefix),
		OnError: func(name string, err error) {
			h.mu.Lock()
			h.pubErrs = append(h.pubErrs, name+": "+err.Error())
			h.mu.Unlock()
		}}
	// The cold tier: another prefix of the same bucket, which Iceberg
	// readers reach with the warehouse's S3 settings.
	coldCfg := s3cfg
	coldCfg.Prefix = strings.Trim(s3cfg.Prefix+"/cold", "/")
	coldURI := "s3://" + coldCfg.Bucket + "/" + coldCfg.Prefix
	h.coldURI = coldURI
	h.cat = catalog.New(store, "", table.Env{AfterChange: pub.Hook(), ColdURI: coldURI,
		OpenStore: func(ctx context.Context, uri string) (objstore.Store, error) {
			if uri != coldURI {
				return nil, fmt.Errorf("unexpected tier store %s", uri)
			}
			return objstore.NewS3(ctx, coldCfg)
		}})
	h.eng = query.NewEngine(query.NewSiltCatalog(h.cat, "e2e"), query.EngineOptions{CurrentDB: "shop"})
	h.exec("CREATE DATABASE shop")

	srv, err := New(Options{Config: testConfig(t, nil), Catalog: h.cat, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		IcebergClientConfig: IcebergS3Hints(s3cfg)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	// The client brings only its credentials and region: the endpoint
	// and addressing come from the catalog's hints.
	h.rc, err = rest.NewCatalog(ctx, "silt", hs.URL+PathIceberg, rest.WithAdditionalProps(iceberg.Properties{
		"s3.access-key-id": os.Getenv("AWS_ACCESS_KEY_ID"), "s3.secret-access-key": os.Getenv("AWS_SECRET_ACCESS_KEY"),
		"s3.region": "us-east-1",
	}))
	if err != nil {
		t.Fatal(err)
	}

	const common = "'bucket' = '2', 'metadata.iceberg.enabled' = 'true', 'snapshot.num-retained.min' = '3', 'snapshot.num-retained.max' = '10'"
	tables := []*e2eTable{
		{name: "dedup", options: common + ", 'tier.min-level' = '0'", tiered: true},
		{name: "firstrow", options: common + ", 'merge-engine' = 'first-row'"},
		{name: "partial", options: common + ", 'merge-engine' = 'partial-update'", merged: true},
		{name: "agg", options: common + ", 'merge-engine' = 'aggregation', 'fields.n.aggregate-function' = 'sum'", merged: true},
		{name: "lead", options: common, leadKey: true},
		{name: "nested", options: common, nested: true, rowFields: []string{"a", "s"}},
		{name: "late", options: strings.Replace(common, "'metadata.iceberg.enabled' = 'true'", "'metadata.iceberg.enabled' = 'false'", 1), off: true},
	}
	h.tables = tables
	for _, tb := range tables {
		tb.fullSnaps = map[int64]bool{}
		cols := "id BIGINT, dt STRING"
		if tb.leadKey {
			cols = "dt STRING, id BIGINT"
		}
		if tb.nested {
			cols += ", tags ARRAY<STRING>, info ROW<a STRING, s STRING>, m MAP<STRING, BIGINT>"
		}
		h.exec(fmt.Sprintf("CREATE TABLE shop.%s (%s, v STRING, n BIGINT, PRIMARY KEY (dt, id)) PARTITIONED BY (dt) WITH (%s)",
			tb.name, cols, tb.options))
	}
	steps := 30 + h.rng.IntN(20)
	late := tables[len(tables)-1]
	late.enableAt = steps/3 + rand.New(rand.NewPCG(seed, 0x1a7e)).IntN(steps/3)
	for i := 0; i < steps; i++ {
		if i == late.enableAt {
			h.enable(late)
		}
		tb := tables[h.rng.IntN(len(tables))]
		op := h.step(tb)
		h.t.Logf("step %d: %s: %s", i, tb.name, op)
		h.checkPublished()
		if tb.off {
			continue
		}
		if !tb.merged || tb.fullSnaps[h.latest(tb)] {
			h.compareLatest(tb, fmt.Sprintf("step %d (%s)", i, op))
		}
		switch {
		case h.latest(tb) == 0:
		case op == "expire":
			// Expiry deleted files: whatever the view still lists reads.
			h.compareAll(tb, false)
		case tb.branch && (strings.HasPrefix(op, "add column") || strings.HasPrefix(op, "rename column") || strings.HasPrefix(op, "drop column") || strings.HasPrefix(op, "row ")):
			// No commit since the schema change: the branch ref reads
			// with the new schema already.
			h.compareAll(tb, false)
		}
	}
	// A last commit lets the view catch up with expiry; merged tables end
	// fully compacted.
	for _, tb := range tables {
		if tb.nested {
			// Every kind of ROW field change, each followed by a commit:
			// every snapshot reads with its own version of the ROW.
			for _, op := range []int{0, 1, 2} {
				h.t.Logf("%s: %s", tb.name, h.evolveRow(tb, op))
				h.insert(tb, "")
			}
		}
		h.insert(tb, "")
		if tb.merged {
			h.compact(tb, true)
		}
		if tb.tiered {
			h.tier(tb)
			if tb.tieredFiles == 0 {
				h.t.Fatalf("%s: no file moved to the cold tier", tb.name)
			}
		}
		h.checkPublished()
		h.compareAll(tb, true)
	}
	if v := counterOf(t, srv, opLoadTable, "200"); v == 0 {
		t.Fatal("no load_table request counted")
	}
}

// enable turns the view of tb on after its history: the ALTER TABLE
// publishes every retained snapshot (main and branch), tags and the
// branch, which must all read as silt does.
func (h *e2eHarness) enable(tb *e2eTable) {
	h.t.Helper()
	// Some history of its own first: commits, a tag, the branch.
	for range 2 + h.rng.IntN(3) {
		h.insert(tb, "")
	}
	tag := "t" + strconv.Itoa(len(tb.tags)+1)
	h.exec(fmt.Sprintf("ALTER TABLE shop.%s CREATE TAG %s", tb.name, tag))
	tb.tags = append(tb.tags, tag)
	if !tb.branch {
		h.exec(fmt.Sprintf("ALTER TABLE shop.%s CREATE BRANCH dev", tb.name))
		tb.branch = true
	}
	h.insert(tb, "dev")
	tb.devCommits++
	h.insert(tb, "")
	h.exec(fmt.Sprintf("ALTER TABLE shop.%s SET ('metadata.iceberg.enabled' = 'true')", tb.name))
	tb.off = false
	h.checkPublished()
	h.t.Logf("%s: view enabled", tb.name)
	if h.latest(tb) == 0 {
		return
	}
	lt := h.load(tb)
	published := map[string]bool{}
	for _, s := range lt.Metadata().Snapshots() {
		if s.Summary != nil {
			published[s.Summary.Properties["silt.branch"]+"@"+s.Summary.Properties["silt.snapshot-id"]] = true
		}
	}
	check := func(branch, rel string, skipFirst bool) {
		res := h.exec("SELECT snapshot_id FROM " + rel + " ORDER BY snapshot_id")
		for i, row := range res.Rows {
			if i == 0 && skipFirst {
				continue // the branch's copy of its source snapshot: shared with main
			}
			id := fmt.Sprint(row[0])
			if !published[branch+"@"+id] {
				h.t.Fatalf("%s: view enabled late: silt snapshot %s of branch %q is not published", tb.name, id, branch)
			}
		}
	}
	check("", "shop."+tb.name+"$snapshots", false)
	if tb.branch {
		check("dev", "shop."+tb.name+"$branch_dev$snapshots", true)
	}
	h.compareAll(tb, true)
}

func (h *e2eHarness) exec(sql string) *query.Result {
	h.t.Helper()
	res, err := h.eng.ExecStatement(h.ctx, sql)
	if err != nil {
		h.t.Fatalf("%s: %v", sql, err)
	}
	return res
}

func (h *e2eHarness) checkPublished() {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	rest := h.pubErrs
	h.pubErrs = nil
	if len(rest) == 0 {
		return
	}
	h.t.Fatalf("publication failed: %s", strings.Join(rest, "; "))
}

// step runs one random operation on tb and names it.
func (h *e2eHarness) step(tb *e2eTable) string {
	r := h.rng
	switch k := r.IntN(100); {
	case k < 40:
		branch := ""
		if tb.branch && r.IntN(3) == 0 {
			branch = "dev"
		}
		h.insert(tb, branch)
		if branch != "" {
			tb.devCommits++
		}
		return "insert " + branch
	case k < 50:
		sql := fmt.Sprintf("UPDATE shop.%s SET v = 'u%d' WHERE id %% 4 = %d", tb.name, r.IntN(1000), r.IntN(4))
		return h.tolerant(tb, sql)
	case k < 58:
		sql := fmt.Sprintf("DELETE FROM shop.%s WHERE id = %d", tb.name, r.IntN(12))
		return h.tolerant(tb, sql)
	case k >= 58 && k < 72 && tb.nested && r.IntN(2) == 0:
		return h.evolveRow(tb, r.IntN(3))
	case k < 64:
		tb.added++
		c := "c" + strconv.Itoa(tb.added)
		h.exec(fmt.Sprintf("ALTER TABLE shop.%s ADD COLUMN %s STRING", tb.name, c))
		tb.extra = append(tb.extra, c)
		return "add column " + c
	case k < 68 && len(tb.extra) > 0:
		i := r.IntN(len(tb.extra))
		tb.added++
		c := "r" + strconv.Itoa(tb.added)
		h.exec(fmt.Sprintf("ALTER TABLE shop.%s RENAME COLUMN %s TO %s", tb.name, tb.extra[i], c))
		tb.extra[i] = c
		return "rename column to " + c
	case k < 72 && len(tb.extra) > 0:
		i := r.IntN(len(tb.extra))
		c := tb.extra[i]
		h.exec(fmt.Sprintf("ALTER TABLE shop.%s DROP COLUMN %s", tb.name, c))
		tb.extra = slices.Delete(tb.extra, i, i+1)
		return "drop column " + c
	case k < 82:
		full := tb.merged || r.IntN(2) == 0
		h.compact(tb, full)
		return fmt.Sprintf("compact full=%v", full)
	case k < 84 && tb.tiered:
		return h.tier(tb)
	case k < 88:
		t, err := h.cat.LoadTable(h.ctx, "shop", tb.name)
		if err != nil {
			h.t.Fatal(err)
		}
		if _, _, err := lifecycle.ExpireSnapshots(h.ctx, t, false); err != nil {
			h.t.Fatalf("expire %s: %v", tb.name, err)
		}
		return "expire"
	case k < 94:
		if h.latest(tb) == 0 {
			return "nothing"
		}
		tag := "t" + strconv.Itoa(len(tb.tags)+1)
		h.exec(fmt.Sprintf("ALTER TABLE shop.%s CREATE TAG %s", tb.name, tag))
		tb.tags = append(tb.tags, tag)
		return "tag " + tag
	default:
		if tb.branch || tb.merged || h.latest(tb) == 0 {
			h.insert(tb, "")
			return "insert"
		}
		h.exec(fmt.Sprintf("ALTER TABLE shop.%s CREATE BRANCH dev", tb.name))
		tb.branch = true
		return "branch dev"
	}
}

// evolveRow adds a field to the ROW column info of a nested table (op
// 0), renames one (1) or drops one (2). The first field (a, maybe
// renamed) stays: iceberg-go cannot read a file in which a ROW has none
// of the fields the snapshot's schema asks for.
func (h *e2eHarness) evolveRow(tb *e2eTable, op int) string {
	h.t.Helper()
	r := h.rng
	tb.added++
	switch {
	case op == 0 || len(tb.rowFields) == 1 && op == 2:
		f := "f" + strconv.Itoa(tb.added)
		h.exec(fmt.Sprintf("ALTER TABLE shop.%s ADD COLUMN info.%s STRING", tb.name, f))
		tb.rowFields = append(tb.rowFields, f)
		return "row add field info." + f
	case op == 1:
		i := r.IntN(len(tb.rowFields))
		f := "g" + strconv.Itoa(tb.added)
		h.exec(fmt.Sprintf("ALTER TABLE shop.%s RENAME COLUMN info.%s TO %s", tb.name, tb.rowFields[i], f))
		old := tb.rowFields[i]
		tb.rowFields[i] = f
		return "row rename field info." + old + " to " + f
	}
	i := 1 + r.IntN(len(tb.rowFields)-1)
	f := tb.rowFields[i]
	h.exec(fmt.Sprintf("ALTER TABLE shop.%s DROP COLUMN info.%s", tb.name, f))
	tb.rowFields = slices.Delete(tb.rowFields, i, i+1)
	return "row drop field info." + f
}

// nestedValues are SQL values of the columns tags, info and m of a
// nested table.
func (h *e2eHarness) nestedValues(tb *e2eTable) []string {
	r := h.rng
	item := func() string {
		if r.IntN(4) == 0 {
			return "NULL"
		}
		return fmt.Sprintf("'y%d'", r.IntN(100))
	}
	var tags, info, m []string
	for range r.IntN(3) {
		tags = append(tags, item())
	}
	for range tb.rowFields {
		info = append(info, item())
	}
	for j := range r.IntN(3) {
		m = append(m, fmt.Sprintf("'k%d': %d", j, r.IntN(50)))
	}
	out := []string{"[" + strings.Join(tags, ", ") + "]", "ROW(" + strings.Join(info, ", ") + ")", "MAP {" + strings.Join(m, ", ") + "}"}
	for i := range out {
		if r.IntN(5) == 0 {
			out[i] = "NULL"
		}
	}
	return out
}

// tier moves tb's data files to the cold tier (lifecycle tiering) and
// checks that the view names them there, by s3:// URI.
func (h *e2eHarness) tier(tb *e2eTable) string {
	h.t.Helper()
	t, err := h.cat.LoadTable(h.ctx, "shop", tb.name)
	if err != nil {
		h.t.Fatal(err)
	}
	rep, _, err := lifecycle.TierFiles(h.ctx, t, false)
	if err != nil {
		h.t.Fatalf("tier %s: %v", tb.name, err)
	}
	tb.tieredFiles += rep.Files
	if rep.Files > 0 {
		// The view names the moved files in the cold tier, by s3:// URI.
		h.checkPublished()
		tasks, err := h.load(tb).Scan().PlanFiles(h.ctx)
		if err != nil {
			h.t.Fatalf("%s: plan files: %v", tb.name, err)
		}
		cold := 0
		for _, task := range tasks {
			if strings.HasPrefix(task.File.FilePath(), h.coldURI+"/") {
				cold++
			}
		}
		if cold < rep.Files {
			h.t.Fatalf("%s: %d files moved to the cold tier, the view names %d there", tb.name, rep.Files, cold)
		}
	}
	return fmt.Sprintf("tier %d files", rep.Files)
}

// tolerant runs an UPDATE or DELETE, which merge engines other than
// deduplicate may refuse (then it inserts instead).
func (h *e2eHarness) tolerant(tb *e2eTable, sql string) string {
	if _, err := h.eng.ExecStatement(h.ctx, sql); err != nil {
		if tb.name == "dedup" || !errors.Is(err, types.ErrInvalid) {
			h.t.Fatalf("%s: %v", sql, err)
		}
		h.insert(tb, "")
		return "insert (refused: " + sql + ")"
	}
	return sql
}

func (h *e2eHarness) insert(tb *e2eTable, branch string) {
	h.t.Helper()
	r := h.rng
	cols := append([]string{"dt", "id", "v", "n"}, tb.extra...)
	if tb.nested {
		cols = append(cols, "tags", "info", "m")
	}
	var rows []string
	for range 1 + r.IntN(8) {
		vals := []string{fmt.Sprintf("'d%d'", r.IntN(3)), strconv.Itoa(r.IntN(12))}
		for range len(cols) - 2 {
			vals = append(vals, fmt.Sprintf("'x%d'", r.IntN(100)))
		}
		vals[3] = strconv.Itoa(r.IntN(50)) // n is a number
		for i := 2; i < len(vals); i++ {
			if tb.merged && r.IntN(3) == 0 {
				vals[i] = "NULL"
			}
		}
		if tb.nested {
			vals = append(vals[:len(vals)-3], h.nestedValues(tb)...)
		}
		rows = append(rows, "("+strings.Join(vals, ", ")+")")
	}
	name := "shop." + tb.name
	if branch != "" {
		name += "$branch_" + branch
	}
	h.exec(fmt.Sprintf("INSERT INTO %s (%s) VALUES %s", name, strings.Join(cols, ", "), strings.Join(rows, ", ")))
}

func (h *e2eHarness) compact(tb *e2eTable, full bool) {
	h.t.Helper()
	t, err := h.cat.LoadTable(h.ctx, "shop", tb.name)
	if err != nil {
		h.t.Fatal(err)
	}
	rep, err := t.Compact(h.ctx, table.CompactOptions{Full: full, User: "e2e"})
	if err != nil {
		h.t.Fatalf("compact %s: %v", tb.name, err)
	}
	if full && rep != nil {
		for _, id := range rep.Snapshots {
			tb.fullSnaps[id] = true
		}
	}
}

// latest is the latest snapshot of main (0: none).
func (h *e2eHarness) latest(tb *e2eTable) int64 {
	return h.exec("SELECT * FROM shop." + tb.name + " LIMIT 0").SnapshotID
}

// load loads tb through the catalog.
func (h *e2eHarness) load(tb *e2eTable) *icetable.Table {
	h.t.Helper()
	lt, err := h.rc.LoadTable(h.ctx, icetable.Identifier{"shop", tb.name})
	if err != nil {
		h.t.Fatalf("load %s through /iceberg: %v", tb.name, err)
	}
	if loc := lt.MetadataLocation(); !strings.HasPrefix(loc, "s3://") {
		h.t.Fatalf("%s: metadata location %q is not an s3:// URI", tb.name, loc)
	}
	return lt
}

// compareLatest compares the latest snapshot of main, as the current
// Iceberg snapshot, with silt's.
func (h *e2eHarness) compareLatest(tb *e2eTable, what string) {
	h.t.Helper()
	id := h.latest(tb)
	if id == 0 {
		return
	}
	lt := h.load(tb)
	cur := lt.Metadata().CurrentSnapshot()
	if cur == nil || cur.SnapshotID != id {
		h.t.Fatalf("%s: %s: the Iceberg view's current snapshot is %v, silt's latest is %d", what, tb.name, cur, id)
	}
	h.compareSnapshot(tb, lt, id, "", id, what)
}

// compareAll compares every snapshot the view publishes, and each tag
// and the branch as refs; final: at least one snapshot must compare.
func (h *e2eHarness) compareAll(tb *e2eTable, final bool) {
	h.t.Helper()
	lt := h.load(tb)
	n := 0
	for _, s := range lt.Metadata().Snapshots() {
		if s.Summary == nil {
			h.t.Fatalf("%s: Iceberg snapshot %d has no summary", tb.name, s.SnapshotID)
		}
		siltID, err := strconv.ParseInt(s.Summary.Properties["silt.snapshot-id"], 10, 64)
		if err != nil {
			h.t.Fatalf("%s: Iceberg snapshot %d: silt.snapshot-id %q", tb.name, s.SnapshotID, s.Summary.Properties["silt.snapshot-id"])
		}
		if tb.merged && !tb.fullSnaps[siltID] {
			continue
		}
		h.compareSnapshot(tb, lt, s.SnapshotID, s.Summary.Properties["silt.branch"], siltID, "all")
		n++
	}
	if n == 0 && final {
		h.t.Fatalf("%s: no snapshot compared", tb.name)
	}
	// Data and delete files are s3:// URIs in the warehouse's bucket.
	tasks, err := lt.Scan().PlanFiles(h.ctx)
	if err != nil {
		h.t.Fatalf("%s: plan files: %v", tb.name, err)
	}
	for _, task := range tasks {
		for _, f := range append([]iceberg.DataFile{task.File}, task.DeleteFiles...) {
			if !strings.HasPrefix(f.FilePath(), h.bucketURI) {
				h.t.Fatalf("%s: file %q is not under %s", tb.name, f.FilePath(), h.bucketURI)
			}
		}
	}
	refs := map[string]icetable.SnapshotRef{}
	for name, ref := range lt.Metadata().Refs() {
		refs[name] = ref
	}
	for _, tag := range tb.tags {
		want := h.exec(fmt.Sprintf("SELECT * FROM shop.%s VERSION AS OF '%s' LIMIT 0", tb.name, tag)).SnapshotID
		if tb.merged && !tb.fullSnaps[want] {
			continue // the view leaves out snapshots of merged tables that are not fully compacted
		}
		ref, ok := refs[tag]
		if !ok {
			h.t.Fatalf("%s: tag %s is not a ref of the Iceberg view (refs %v)", tb.name, tag, refs)
		}
		s := lt.Metadata().SnapshotByID(ref.SnapshotID)
		if s == nil || s.Summary == nil || s.Summary.Properties["silt.snapshot-id"] != strconv.FormatInt(want, 10) {
			h.t.Fatalf("%s: tag %s is Iceberg snapshot %d, silt's tag is snapshot %d", tb.name, tag, ref.SnapshotID, want)
		}
	}
	// A branch reads with the table's current schema: the view takes a
	// schema change when it is made, not at the next commit.
	if tb.branch {
		ref, ok := refs["dev"]
		switch {
		case !ok || ref.SnapshotRefType != icetable.BranchRef:
			h.t.Fatalf("%s: branch dev (%d commits) is not a branch ref of the Iceberg view (refs %v)", tb.name, tb.devCommits, refs)
		default:
			scan, err := lt.Scan().UseRef("dev")
			if err != nil {
				h.t.Fatal(err)
			}
			label := tb.name + " ref dev"
			h.same(label, h.arrowRows(scan, label), h.siltRows(fmt.Sprintf("SELECT * FROM shop.%s FOR BRANCH dev", tb.name)))
		}
	}
	if !final {
		return
	}
	h.t.Logf("%s: %d snapshots and %d tags compared; branch: %v (%d commits); %d files moved to the cold tier", tb.name, n, len(tb.tags), tb.branch, tb.devCommits, tb.tieredFiles)
}

func (h *e2eHarness) compareSnapshot(tb *e2eTable, lt *icetable.Table, iceID int64, branch string, siltID int64, what string) {
	h.t.Helper()
	label := fmt.Sprintf("%s: %s Iceberg snapshot %d (silt %d, branch %q)", what, tb.name, iceID, siltID, branch)
	got := h.arrowRows(lt.Scan(icetable.WithSnapshotID(iceID)), label)
	sql := fmt.Sprintf("SELECT * FROM shop.%s VERSION AS OF %d", tb.name, siltID)
	if branch != "" {
		sql = fmt.Sprintf("SELECT * FROM shop.%s FOR BRANCH %s VERSION AS OF %d", tb.name, branch, siltID)
	}
	h.same(label, got, h.siltRows(sql))
}

// tableRows is a result as comparable text: the column names and the
// rows, sorted.
type tableRows struct {
	cols []string
	rows []string
}

// arrowRows scans through iceberg-go.
func (h *e2eHarness) arrowRows(scan *icetable.Scan, label string) tableRows {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 2*time.Minute)
	defer cancel()
	tbl, err := scan.ToArrowTable(ctx)
	if err != nil {
		h.t.Fatalf("%s: iceberg-go scan: %v", label, err)
	}
	defer tbl.Release()
	var out tableRows
	for _, f := range tbl.Schema().Fields() {
		out.cols = append(out.cols, f.Name)
	}
	n := int(tbl.NumRows())
	rows := make([][]string, n)
	for c := 0; c < int(tbl.NumCols()); c++ {
		r := 0
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				rows[r] = append(rows[r], arrowValue(chunk, i))
				r++
			}
		}
	}
	for _, r := range rows {
		out.rows = append(out.rows, strings.Join(r, "|"))
	}
	slices.Sort(out.rows)
	return out
}

func arrowValue(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	if nested(a.DataType()) {
		// As silt's result renders it (siltRows): the List, Map or
		// Struct value.
		return fmt.Sprint(types.ValueAt(a, i))
	}
	return a.ValueStr(i)
}

func nested(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.LIST, arrow.MAP, arrow.STRUCT:
		return true
	}
	return false
}

func (h *e2eHarness) siltRows(sql string) tableRows {
	h.t.Helper()
	res := h.exec(sql)
	var out tableRows
	for _, c := range res.Columns {
		out.cols = append(out.cols, c.Name)
	}
	for _, row := range res.Rows {
		vals := make([]string, len(row))
		for i, v := range row {
			if v == nil {
				vals[i] = "NULL"
			} else {
				vals[i] = fmt.Sprint(v)
			}
		}
		out.rows = append(out.rows, strings.Join(vals, "|"))
	}
	slices.Sort(out.rows)
	return out
}

func (h *e2eHarness) same(label string, got, want tableRows) {
	h.t.Helper()
	if !slices.Equal(got.cols, want.cols) {
		h.t.Fatalf("%s: Iceberg columns %v, silt's %v", label, got.cols, want.cols)
	}
	if !slices.Equal(got.rows, want.rows) {
		h.t.Fatalf("%s: Iceberg reads %d rows, silt %d:\niceberg: %v\nsilt:    %v", label, len(got.rows), len(want.rows), got.rows, want.rows)
	}
}
