package server

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/siltdb/silt/manifest"
)

//go:embed console
var consoleFiles embed.FS

// Paths served over HTTP.
const (
	PathHealth  = "/healthz"
	PathReady   = "/readyz"
	PathMetrics = "/metrics"
	PathTables  = "/api/tables"
	PathTable   = "/api/table"
)

// Routes returns every path the server answers (the console is "/").
func Routes() []string {
	return []string{PathHealth, PathReady, PathMetrics, PathTables, PathTable, PathIceberg + "/", "/"}
}

// Handler serves the health endpoints, the metrics, the console's API,
// the Iceberg REST catalog and the console itself. Every route is
// read-only (GET or HEAD); the Iceberg catalog answers other methods
// with its own error.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET "+PathReady, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		ready, why := s.ready, s.notReady
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", why)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET "+PathMetrics, promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}}))
	mux.HandleFunc("GET "+PathTables, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.overview()) })
	mux.HandleFunc("GET "+PathTable, func(w http.ResponseWriter, r *http.Request) {
		d, ok := s.detail(r.URL.Query().Get("name"))
		if !ok {
			http.Error(w, "unknown table (see "+PathTables+")", http.StatusNotFound)
			return
		}
		writeJSON(w, d)
	})
	ice := s.icebergHandler()
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		mux.Handle(m+" "+PathIceberg+"/", ice) // GET also answers HEAD
	}
	static, _ := fs.Sub(consoleFiles, "console")
	mux.Handle("GET /", http.FileServerFS(static))
	return securityHeaders(mux)
}

// securityHeaders: the console loads nothing from elsewhere.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.log.Error("metrics", "err", fmt.Sprint(v...)) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	_ = enc.Encode(v)
}

// Overview is the console's first request.
type Overview struct {
	Version string         `json:"version"`
	Ready   bool           `json:"ready"`
	Tables  []TableSummary `json:"tables"`
	Sinks   []SinkView     `json:"sinks"`
}

// TableSummary is one line of the console's table list.
type TableSummary struct {
	Name           string `json:"name"`
	LatestSnapshot int64  `json:"latestSnapshot"`
	Snapshots      int    `json:"snapshots"`
	Buckets        int    `json:"buckets"`
	Files          int    `json:"files"`
	Bytes          int64  `json:"bytes"`
	Error          string `json:"error,omitempty"`
}

// SinkView is a sink's progress.
type SinkView struct {
	Name             string           `json:"name"`
	Table            string           `json:"table"`
	Topics           []string         `json:"topics"`
	Running          bool             `json:"running"`
	RecordsCommitted int64            `json:"recordsCommitted"`
	Commits          int64            `json:"commits"`
	Lag              map[string]int64 `json:"lag"`
	TotalLag         int64            `json:"totalLag"`
	FreshnessP99Ms   int64            `json:"freshnessP99Ms"`
	DLQ              int64            `json:"dlq"`
}

// TableDetail is everything the console shows about one table.
type TableDetail struct {
	TableSummary
	Refreshed   time.Time           `json:"refreshed"`
	Columns     []string            `json:"columns"`
	PrimaryKeys []string            `json:"primaryKeys"`
	Timeline    []SnapshotView      `json:"timeline"`
	Tags        []TagView           `json:"tags"`
	Branches    []BranchView        `json:"branches"`
	Buckets     []BucketView        `json:"buckets"`
	Tiers       map[string]tierView `json:"tiers"`
	Lifecycle   LifecycleView       `json:"lifecycle"`
	Compaction  CompactionView      `json:"compaction"`
	Sinks       []SinkView          `json:"sinks"`
}

// SnapshotView is one snapshot of the timeline.
type SnapshotView struct {
	ID       int64    `json:"id"`
	Kind     string   `json:"kind"`
	Time     int64    `json:"timeMillis"`
	User     string   `json:"user"`
	Records  int64    `json:"totalRecords"`
	Delta    int64    `json:"deltaRecords"`
	Tags     []string `json:"tags,omitempty"`
	Branches []string `json:"branches,omitempty"` // branches created from it
}

// TagView is a tag.
type TagView struct {
	Name     string `json:"name"`
	Snapshot int64  `json:"snapshot"`
	Auto     bool   `json:"auto,omitempty"`
	Branch   string `json:"branch,omitempty"`
}

// BranchView is a branch.
type BranchView struct {
	Name       string `json:"name"`
	From       int64  `json:"fromSnapshot"`
	FromBranch string `json:"fromBranch,omitempty"`
	FromTag    string `json:"fromTag,omitempty"`
	Created    int64  `json:"createdMillis"`
}

// BucketView is one bucket's merge tree: its files' sizes per level.
type BucketView struct {
	Partition  string    `json:"partition"`
	Bucket     int       `json:"bucket"`
	SortedRuns int       `json:"sortedRuns"`
	UntilStall int       `json:"untilStall"`
	Levels     [][]int64 `json:"levels"`
}

type tierView struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// LifecycleView is the table's lifecycle policy and what it does next.
type LifecycleView struct {
	Policy  map[string]string `json:"policy"`
	Next    []string          `json:"next"`
	LastRun int64             `json:"lastRunMillis,omitempty"`
	NextRun int64             `json:"nextRunMillis,omitempty"`
	LastErr string            `json:"lastError,omitempty"`
}

// CompactionView is what this process's compactions did.
type CompactionView struct {
	Runs          int64            `json:"runs"`
	Buckets       map[string]int64 `json:"buckets"`
	BytesWritten  int64            `json:"bytesWritten"`
	LastRun       int64            `json:"lastRunMillis,omitempty"`
	LastSnapshots []int64          `json:"lastSnapshots,omitempty"`
	LastErr       string           `json:"lastError,omitempty"`
}

// lifecycleKeys are the option prefixes shown as the lifecycle policy.
var lifecycleKeys = []string{"snapshot.", "partition.", "tier.", "tag.", "orphan", "changelog", "record-level.", "lease."}

func summary(st *tableState) TableSummary {
	ts := TableSummary{Name: st.Name, Snapshots: st.SnapshotCount, Buckets: len(st.Buckets), Bytes: st.LiveBytes, Error: st.Err}
	if st.Latest != nil {
		ts.LatestSnapshot = st.Latest.ID
	}
	for _, b := range st.Buckets {
		ts.Files += b.Files
	}
	return ts
}

func (s *Server) sinkViews(table string) []SinkView {
	out := []SinkView{}
	for i, sk := range s.o.Sinks {
		if table != "" && sk.Table != table {
			continue
		}
		m := sk.Runner.Metrics().Snapshot()
		v := SinkView{Name: sk.Name, Table: sk.Table, Topics: sk.Topics, Running: s.sinkRunning[i], RecordsCommitted: m.RecordsCommitted,
			Commits: m.Commits, Lag: m.Lag, FreshnessP99Ms: m.FreshnessP99.Milliseconds(), DLQ: m.DLQTotal}
		for _, l := range m.Lag {
			v.TotalLag += l
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) overview() Overview {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := Overview{Version: s.o.Version, Ready: s.ready, Tables: []TableSummary{}, Sinks: s.sinkViews("")}
	for _, name := range sortedTableNames(s.tables) {
		o.Tables = append(o.Tables, summary(s.tables[name]))
	}
	return o
}

func (s *Server) detail(name string) (TableDetail, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.tables[name]
	if st == nil {
		return TableDetail{}, false
	}
	d := TableDetail{TableSummary: summary(st), Refreshed: st.Refreshed, Columns: st.Columns, PrimaryKeys: st.PrimaryKeys,
		Timeline: []SnapshotView{}, Tags: []TagView{}, Branches: []BranchView{}, Buckets: []BucketView{}, Tiers: map[string]tierView{},
		Sinks: s.sinkViews(name)}
	tagsAt := map[int64][]string{}
	for _, t := range st.Tags {
		d.Tags = append(d.Tags, TagView{Name: t.Name, Snapshot: t.Snapshot.ID, Auto: t.Auto, Branch: t.Branch})
		if t.Branch == "" {
			tagsAt[t.Snapshot.ID] = append(tagsAt[t.Snapshot.ID], t.Name)
		}
	}
	branchesAt := map[int64][]string{}
	for _, b := range st.Branches {
		bv := BranchView{Name: b.Name, FromBranch: b.FromBranch, FromTag: b.FromTag, Created: b.CreatedMillis}
		if b.From != nil {
			bv.From = b.From.ID
			if b.FromBranch == "" || b.FromBranch == manifest.MainBranch {
				branchesAt[b.From.ID] = append(branchesAt[b.From.ID], b.Name)
			}
		}
		d.Branches = append(d.Branches, bv)
	}
	for _, sn := range st.Recent {
		d.Timeline = append(d.Timeline, SnapshotView{ID: sn.ID, Kind: string(sn.CommitKind), Time: sn.TimeMillis, User: sn.CommitUser,
			Records: sn.TotalRecordCount, Delta: sn.DeltaRecordCount, Tags: tagsAt[sn.ID], Branches: branchesAt[sn.ID]})
	}
	levels := map[string][][]int64{}
	for _, bl := range st.Levels {
		levels[bl.Partition+"\x00"+strconv.Itoa(bl.Bucket)] = bl.Levels
	}
	for _, b := range st.Buckets {
		d.Buckets = append(d.Buckets, BucketView{Partition: b.Partition, Bucket: b.Bucket, SortedRuns: b.SortedRuns, UntilStall: b.UntilStall,
			Levels: levels[b.Partition+"\x00"+strconv.Itoa(b.Bucket)]})
	}
	for k, v := range st.Tiers {
		d.Tiers[k] = tierView(v)
	}
	d.Lifecycle.Policy = map[string]string{}
	for k, v := range st.Options {
		for _, p := range lifecycleKeys {
			if strings.HasPrefix(k, p) {
				d.Lifecycle.Policy[k] = v
			}
		}
	}
	mc := st.Maintain
	d.Lifecycle.Next = append([]string{}, mc.Next...)
	if !mc.LastRun.IsZero() {
		d.Lifecycle.LastRun, d.Lifecycle.NextRun = mc.LastRun.UnixMilli(), mc.NextRun.UnixMilli()
	}
	d.Lifecycle.LastErr = mc.LastErr
	cc := st.Compact
	d.Compaction = CompactionView{Runs: cc.RunsOK + cc.RunsFailed, Buckets: map[string]int64{}, BytesWritten: cc.BytesWritten,
		LastSnapshots: cc.LastSnapshots, LastErr: cc.LastErr}
	for k, v := range cc.Buckets {
		d.Compaction.Buckets[k] = v
	}
	if !cc.LastRun.IsZero() {
		d.Compaction.LastRun = cc.LastRun.UnixMilli()
	}
	return d, true
}
