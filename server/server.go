// Package server is `silt serve`: one process that runs the configured
// sinks, compaction of the tables it owns and their lifecycle policies on a
// schedule, with health endpoints, Prometheus metrics, structured logs, a
// read-only web console and a bounded graceful shutdown.
//
// Files:
//
//	settings.go  every setting: config key, flag and environment forms
//	config.go    Config, Load (file + env + flags, errors naming the line)
//	server.go    Server: the run loop, shutdown, schedules
//	state.go     per-table state read on a refresh interval
//	compact.go   CompactRound, shared with `silt compact --watch`
//	metrics.go   the metric list and the Prometheus collector
//	http.go      /healthz, /readyz, /metrics, /api/…, the console
//	iceberg.go   the read-only Iceberg REST catalog under /iceberg
//	iceberg_config.go  its client hints (S3 endpoint, addressing, region)
//	console/     the console's HTML, JS and CSS (embedded)
//
// cmd/silt builds the components (catalog, sinks, logger) and passes them
// in; this package holds no global state.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/siltdb/silt/cache"
	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/compaction"
	"github.com/siltdb/silt/icebergview"
	"github.com/siltdb/silt/lifecycle"
	"github.com/siltdb/silt/stream"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// SinkRunner is a sink the server runs (a *stream.Sink).
type SinkRunner interface {
	// Run consumes until ctx ends, Drain is called or it fails.
	Run(ctx context.Context) error
	// Drain makes Run commit what it consumed and return.
	Drain()
	Metrics() *stream.Metrics
}

// Sink is one configured sink.
type Sink struct {
	Name, Table string // Table is "db.table"
	Topics      []string
	Runner      SinkRunner
}

// Options are the components of a server. Config, Catalog and Logger are
// required.
type Options struct {
	Config  *Config
	Catalog *catalog.Catalog
	Sinks   []Sink
	Logger  *slog.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Started is when the process started (for silt_startup_duration_seconds).
	// Default: when New was called.
	Started time.Time
	Version string
	// User is the commit user of compactions. Default: silt-serve-<uuid>.
	User string
	// CacheStats reports the disk cache's counters (false: no cache); nil
	// when the process has no cache.
	CacheStats func() (cache.Stats, bool)
	// LookupIndexStats reports the lookup indexes' counters (false: the
	// index is disabled); nil when the process has none.
	LookupIndexStats func() (table.LookupIndexStats, bool)
	// Listener serves HTTP; nil: listen on Config.Listen.
	Listener net.Listener
	// IcebergClientConfig are the client hints the Iceberg REST catalog's
	// /v1/config returns as defaults (IcebergS3Hints); keys other than
	// those hints are never sent.
	IcebergClientConfig map[string]string
}

// abortGrace is how long aborted work may take to return before Run gives
// up on it; the HTTP server then gets httpGrace to close.
const (
	abortGrace = 5 * time.Second
	httpGrace  = 2 * time.Second
)

// Server is one `silt serve` process.
type Server struct {
	o   Options
	log *slog.Logger
	reg *prometheus.Registry

	compactTables, maintainTables []string

	mu          sync.Mutex
	tables      map[string]*tableState
	ready       bool
	notReady    string // why /readyz fails
	startup     time.Duration
	sinkRunning []bool
	sinkErrs    []error
	// icebergRequests counts the Iceberg catalog's answers by operation
	// and status code.
	icebergRequests map[[2]string]int64

	// icebergCurrent reads a table's published Iceberg metadata.
	icebergCurrent icebergCurrentFunc
}

// New validates the options and builds a server; it does no I/O.
func New(o Options) (*Server, error) {
	if o.Config == nil || o.Catalog == nil || o.Logger == nil {
		return nil, fmt.Errorf("%w: server: Config, Catalog and Logger are required", types.ErrInvalid)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Started.IsZero() {
		o.Started = o.Now()
	}
	if o.User == "" {
		o.User = "silt-serve-" + uuid.NewString()
	}
	s := &Server{o: o, log: o.Logger, tables: map[string]*tableState{}, notReady: "starting",
		sinkRunning: make([]bool, len(o.Sinks)), sinkErrs: make([]error, len(o.Sinks)), icebergCurrent: icebergview.Current}
	s.compactTables = o.Config.CompactTables
	if s.compactTables == nil {
		for _, sk := range o.Sinks {
			if !slices.Contains(s.compactTables, sk.Table) {
				s.compactTables = append(s.compactTables, sk.Table)
			}
		}
	}
	s.maintainTables = o.Config.MaintainTables
	if s.maintainTables == nil {
		s.maintainTables = s.compactTables
	}
	s.reg = prometheus.NewRegistry()
	hist := newSinkHistograms()
	for _, sk := range o.Sinks {
		sk.Runner.Metrics().SetObserver(hist.observer(sk.Name, sk.Table))
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), newCollector(s),
		hist.commit, hist.freshness)
	return s, nil
}

func (s *Server) now() time.Time { return s.o.Now() }

// Registry is the server's metrics registry.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Run serves until ctx ends (SIGTERM) or a sink fails, then shuts down:
// readiness turns off, the sinks stop fetching and commit what they
// consumed, compaction and maintenance start nothing new, and whatever is
// still in flight when Config.ShutdownTimeout has passed is aborted (an
// aborted commit either happened or not; the next run resumes from the
// table). The returned error is the first sink failure, if any.
func (s *Server) Run(ctx context.Context) error {
	c := s.o.Config
	ln := s.o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", c.Listen); err != nil {
			return fmt.Errorf("listen %s: %w", c.Listen, err)
		}
	}
	httpSrv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	httpDone := make(chan error, 1)
	go func() { httpDone <- httpSrv.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String(), "sinks", len(s.o.Sinks),
		"compact_tables", describe(s.compactTables, c.CompactInterval), "maintain_tables", describe(s.maintainTables, c.MaintainInterval))

	// work ends at the hard deadline; stop when shutdown starts.
	work, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	stop := make(chan struct{})
	var loops sync.WaitGroup

	s.refreshAll(work)
	sinkDone := make(chan int, len(s.o.Sinks))
	var sinks sync.WaitGroup
	for i, sk := range s.o.Sinks {
		s.setSinkRunning(i, true)
		sinks.Add(1)
		go func() {
			defer sinks.Done()
			err := sk.Runner.Run(work)
			s.mu.Lock()
			s.sinkRunning[i], s.sinkErrs[i] = false, err
			s.mu.Unlock()
			if err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("sink failed", "sink", sk.Name, "table", sk.Table, "err", err.Error())
			}
			sinkDone <- i
		}()
	}
	s.mu.Lock()
	s.ready, s.notReady = true, ""
	s.startup = s.now().Sub(s.o.Started)
	s.mu.Unlock()
	s.log.Info("ready", "startup_seconds", s.startup.Seconds())

	loops.Add(3)
	go func() { defer loops.Done(); s.every(work, stop, c.RefreshInterval, s.refreshAll) }()
	go func() {
		defer loops.Done()
		if c.CompactInterval > 0 {
			s.every(work, stop, c.CompactInterval, func(ctx context.Context) { s.compactOnce(ctx, stop) })
		}
	}()
	go func() {
		defer loops.Done()
		if c.MaintainInterval > 0 {
			s.maintainOnce(work, stop)
			s.every(work, stop, c.MaintainInterval, func(ctx context.Context) { s.maintainOnce(ctx, stop) })
		}
	}()

	// Wait for a signal or a sink failure.
	reason := "signal"
	if len(s.o.Sinks) > 0 {
		select {
		case <-ctx.Done():
		case i := <-sinkDone:
			sinkDone <- i // let the count below see it
			reason = "sink " + s.o.Sinks[i].Name + " stopped"
		}
	} else {
		<-ctx.Done()
	}
	began := s.now()
	s.mu.Lock()
	s.ready, s.notReady = false, "shutting down"
	s.mu.Unlock()
	s.log.Info("shutting down", "reason", reason, "timeout", c.ShutdownTimeout.String())
	close(stop)
	for _, sk := range s.o.Sinks {
		sk.Runner.Drain()
	}
	all := make(chan struct{})
	go func() { sinks.Wait(); loops.Wait(); close(all) }()
	timer := time.NewTimer(c.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-all:
	case <-timer.C:
		s.log.Warn("shutdown timeout: aborting in-flight work", "timeout", c.ShutdownTimeout.String())
		hardStop()
		select {
		case <-all:
		case <-time.After(abortGrace):
			s.log.Error("in-flight work ignored its cancellation: exiting without it", "grace", abortGrace.String())
		}
	}
	hardStop()
	shutCtx, cancel := context.WithTimeout(context.Background(), httpGrace)
	defer cancel()
	_ = httpSrv.Shutdown(shutCtx)
	if err := <-httpDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("http server", "err", err.Error())
	}
	var first error
	for i, sk := range s.o.Sinks {
		m := sk.Runner.Metrics().Snapshot()
		s.log.Info("sink stopped", "sink", sk.Name, "table", sk.Table, "records_committed", m.RecordsCommitted,
			"commits", m.Commits, "dead_lettered", m.DLQTotal)
		s.mu.Lock()
		err := s.sinkErrs[i]
		s.mu.Unlock()
		if err != nil && !errors.Is(err, context.Canceled) && first == nil {
			first = fmt.Errorf("sink %s: %w", sk.Name, err)
		}
	}
	s.log.Info("stopped", "shutdown_seconds", s.now().Sub(began).Seconds())
	return first
}

func describe(tables []string, every time.Duration) string {
	switch {
	case every == 0:
		return "disabled"
	case len(tables) == 0:
		return "none"
	}
	return fmt.Sprintf("%v every %s", tables, every)
}

func (s *Server) setSinkRunning(i int, v bool) {
	s.mu.Lock()
	s.sinkRunning[i] = v
	s.mu.Unlock()
}

// every calls fn each interval until stop is closed.
func (s *Server) every(ctx context.Context, stop <-chan struct{}, interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// watched are the tables whose state the server reads: those it sinks
// into, compacts or maintains; every table when one list is "*" or when
// it has nothing else to do.
func (s *Server) watched(ctx context.Context) ([]string, error) {
	var names []string
	for _, sk := range s.o.Sinks {
		names = append(names, sk.Table)
	}
	if s.o.Config.CompactInterval > 0 {
		names = append(names, s.compactTables...)
	}
	if s.o.Config.MaintainInterval > 0 {
		names = append(names, s.maintainTables...)
	}
	if len(names) == 0 || slices.Contains(names, AllTables) {
		return ResolveTables(ctx, s.o.Catalog, nil)
	}
	sort.Strings(names)
	return slices.Compact(names), nil
}

// refreshAll re-reads the state of every watched table.
func (s *Server) refreshAll(ctx context.Context) {
	names, err := s.watched(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("list tables", "err", err.Error())
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		var prev *tableState
		s.mu.Lock()
		if cur := s.tables[name]; cur != nil {
			c := *cur
			prev = &c
		}
		s.mu.Unlock()
		st := s.refreshTable(ctx, name, prev)
		if st.Err != "" && ctx.Err() == nil {
			s.log.Warn("read table state", "table", name, "err", st.Err)
		}
		s.mu.Lock()
		if cur := s.tables[name]; cur != nil { // counters moved meanwhile
			st.Compact, st.Maintain = cur.Compact, cur.Maintain
			if cur.Maintain.LastRun.After(st.fullAt) { // a lifecycle run may have moved files since
				st.fullAt = time.Time{}
			}
		}
		s.tables[name] = st
		s.mu.Unlock()
	}
}

// tableState returns (creating) the state of a table; s.mu must be held.
func (s *Server) stateLocked(name string) *tableState {
	st := s.tables[name]
	if st == nil {
		st = &tableState{Name: name}
		s.tables[name] = st
	}
	return st
}

func (s *Server) compactOnce(ctx context.Context, stop <-chan struct{}) {
	names, err := ResolveTables(ctx, s.o.Catalog, s.compactTables)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("list tables", "err", err.Error())
	}
	CompactRound(ctx, stop, s.o.Catalog, names, s.o.User, func(r CompactResult) {
		var elapsed time.Duration
		committed := 0
		s.mu.Lock()
		cc := &s.stateLocked(r.Name).Compact
		if cc.Buckets == nil {
			cc.Buckets = map[string]int64{}
		}
		cc.LastRun = s.now()
		cc.LastErr = ""
		if r.Report != nil {
			elapsed = r.Report.Elapsed
			for _, b := range r.Report.Buckets {
				cc.Buckets[string(b.Status)]++
				if b.Status == compaction.Committed {
					committed++
				}
			}
			cc.BytesRead += r.Report.Stats.BytesRead
			cc.BytesWritten += r.Report.Stats.BytesWritten
			cc.Seconds += elapsed.Seconds()
			cc.LastSnapshots = r.Report.Snapshots
			cc.LastPlanned, cc.LastCommitted = len(r.Report.Buckets), committed
		}
		// A conflict with another compactor is not a failure of ours.
		failed := r.Err != nil && !(errors.Is(r.Err, types.ErrConflict) && r.Report != nil && !hasFailed(r.Report))
		if failed {
			cc.RunsFailed++
			cc.LastErr = r.Err.Error()
		} else {
			cc.RunsOK++
		}
		s.mu.Unlock()
		switch {
		case failed:
			s.log.Error("compaction failed", "table", r.Name, "err", r.Err.Error())
		case r.Report != nil && len(r.Report.Buckets) > 0:
			s.log.Info("compacted", "table", r.Name, "buckets_planned", len(r.Report.Buckets), "buckets_committed", committed,
				"snapshots", r.Report.Snapshots, "bytes_read", r.Report.Stats.BytesRead, "bytes_written", r.Report.Stats.BytesWritten,
				"seconds", elapsed.Seconds())
		}
	})
}

func hasFailed(rep *compaction.Report) bool {
	for _, b := range rep.Buckets {
		if b.Status == compaction.Failed {
			return true
		}
	}
	return false
}

// maintainOnce runs the lifecycle policies of each maintained table, then
// a dry run whose actions the console shows as the next ones.
func (s *Server) maintainOnce(ctx context.Context, stop <-chan struct{}) {
	names, err := ResolveTables(ctx, s.o.Catalog, s.maintainTables)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("list tables", "err", err.Error())
	}
	for _, name := range names {
		select {
		case <-stop:
			return
		default:
		}
		db, tn, err := SplitTableName(name)
		var t *table.Table
		if err == nil {
			t, err = s.o.Catalog.LoadTable(ctx, db, tn)
		}
		// A failing step does not stop the others: a report with an
		// error still counts what was done.
		var rep, next *lifecycle.MaintainReport
		started := s.now()
		if err == nil {
			var runErr, dryErr error
			rep, runErr = lifecycle.Maintain(ctx, t, lifecycle.MaintainOptions{})
			next, dryErr = lifecycle.Maintain(ctx, t, lifecycle.MaintainOptions{DryRun: true})
			err = errors.Join(runErr, dryErr)
		}
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		st := s.stateLocked(name)
		st.fullAt = time.Time{} // files may have moved or gone: re-read them
		mc := &st.Maintain
		mc.LastRun, mc.NextRun = s.now(), s.now().Add(s.o.Config.MaintainInterval)
		mc.Seconds += s.now().Sub(started).Seconds()
		if err != nil {
			mc.RunsFailed++
			mc.LastErr = err.Error()
		} else {
			mc.RunsOK++
			mc.LastErr = ""
		}
		if rep != nil {
			addReport(mc, rep)
		}
		mc.Next = nil
		if next != nil {
			mc.Next = next.Next
		}
		s.mu.Unlock()
		if err != nil {
			s.log.Error("lifecycle run failed", "table", name, "err", err.Error())
		}
		if rep != nil {
			s.log.Info("lifecycle run", "table", name, "snapshots_expired", rep.SnapshotsExpired, "partitions_expired", rep.PartitionsExpired,
				"files_deleted", rep.FilesDeleted, "bytes_deleted", rep.BytesDeleted, "orphans_deleted", rep.OrphansDeleted,
				"files_tiered", rep.FilesTiered, "tags_created", len(rep.TagsCreated), "next_actions", len(mc.Next))
		}
	}
}

func addReport(mc *maintainCounters, r *lifecycle.MaintainReport) {
	mc.TagsCreated += int64(len(r.TagsCreated))
	mc.TagsDeleted += int64(len(r.TagsDeleted))
	sum := &mc.Report
	sum.SnapshotsExpired += r.SnapshotsExpired
	sum.PartitionsExpired += r.PartitionsExpired
	sum.FilesTiered += r.FilesTiered
	sum.BytesTiered += r.BytesTiered
	sum.FilesDeleted += r.FilesDeleted
	sum.BytesDeleted += r.BytesDeleted
	sum.OrphansDeleted += r.OrphansDeleted
	sum.LeasesCleaned += r.LeasesCleaned
}
