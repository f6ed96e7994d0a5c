package server

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/siltdb/silt/stream"
)

// metricDef is one metric silt serve exports. The list below is the single
// source of the names: the collector builds its descriptors from it, and
// the metrics reference in docs/operations.md and the deploy assets are
// checked against it.
type metricDef struct {
	Name   string
	Type   prometheus.ValueType
	Help   string
	Labels []string
}

var (
	lTable  = []string{"table"}
	lBucket = []string{"table", "partition", "bucket"}
	lSink   = []string{"sink", "table"}
)

func metricDefs() []metricDef {
	g, c := prometheus.GaugeValue, prometheus.CounterValue
	return []metricDef{
		{"silt_build_info", g, "1, labelled with the silt version", []string{"version"}},
		{"silt_ready", g, "1 when /readyz answers 200: the warehouse is open, the sinks run and the tables were read", nil},
		{"silt_startup_duration_seconds", g, "time from process start until ready: the recovery time after a restart", nil},
		{"silt_refresh_errors_total", c, "failed reads of a table's state (the last good state stays exported)", lTable},
		{"silt_table_refresh_timestamp_seconds", g, "Unix time of the last successful read of the table's state", lTable},

		{"silt_table_snapshots", g, "retained snapshots of the main branch", lTable},
		{"silt_table_oldest_snapshot_age_seconds", g, "age of the oldest retained snapshot", lTable},
		{"silt_table_latest_snapshot_id", g, "id of the latest snapshot", lTable},
		{"silt_table_latest_snapshot_age_seconds", g, "time since the latest commit (data freshness)", lTable},
		{"silt_table_tags", g, "tags of the table", lTable},
		{"silt_table_branches", g, "branches of the table (main not counted)", lTable},
		{"silt_table_files", g, "live data files of the latest snapshot per tier", []string{"table", "tier"}},
		{"silt_table_bytes", g, "live data bytes of the latest snapshot per tier", []string{"table", "tier"}},
		{"silt_table_records", g, "records in the live data files (including -U/-D records)", lTable},
		{"silt_table_stored_bytes", g, "bytes of every data object under the table's data/ (live, held only by older snapshots, or orphaned)", lTable},
		{"silt_table_space_amplification_ratio", g, "stored data bytes per live byte", lTable},
		{"silt_table_write_amplification_ratio", g, "bytes written (flushed + compaction outputs) per byte flushed, over the snapshots observed", lTable},
		{"silt_table_flushed_bytes_total", c, "bytes of the data files added by APPEND and OVERWRITE snapshots observed (flushes)", lTable},
		{"silt_table_compaction_output_bytes_total", c, "bytes of the data files added by COMPACT snapshots observed (compaction outputs of any process; level and tier moves not counted)", lTable},
		{"silt_table_ingested_records_total", c, "records added by APPEND and OVERWRITE snapshots observed", lTable},
		{"silt_table_rewritten_records_total", c, "records written by COMPACT snapshots observed", lTable},
		{"silt_table_commits_total", c, "snapshots observed per commit kind", []string{"table", "kind"}},
		{"silt_table_compaction_backlog_buckets", g, "buckets at or above num-sorted-run.compaction-trigger", lTable},
		{"silt_table_compaction_backlog_bytes", g, "live bytes in the buckets of the backlog", lTable},

		{"silt_bucket_sorted_runs", g, "sorted runs of a bucket (level-0 files + non-empty levels)", lBucket},
		{"silt_bucket_sorted_runs_until_stall", g, "sorted runs writers may still add before they stall (num-sorted-run.stop-trigger minus runs)", lBucket},
		{"silt_bucket_files", g, "data files of a bucket per level", []string{"table", "partition", "bucket", "level"}},
		{"silt_bucket_bytes", g, "live bytes of a bucket", lBucket},
		{"silt_bucket_records", g, "records in a bucket's files", lBucket},

		{"silt_compaction_runs_total", c, "compaction rounds of a table by this process, by result (ok, error)", []string{"table", "result"}},
		{"silt_compaction_buckets_total", c, "buckets planned by this process's compactions, by status (committed, conflict, unchanged, failed)", []string{"table", "status"}},
		{"silt_compaction_read_bytes_total", c, "bytes read by committed compactions", lTable},
		{"silt_compaction_written_bytes_total", c, "bytes written by committed compactions (rate = throughput)", lTable},
		{"silt_compaction_duration_seconds_total", c, "time spent compacting the table", lTable},
		{"silt_compaction_last_run_timestamp_seconds", g, "Unix time of the last compaction round of the table", lTable},

		{"silt_maintenance_runs_total", c, "runs of the table's lifecycle policies, by result (ok, error)", []string{"table", "result"}},
		{"silt_maintenance_snapshots_expired_total", c, "snapshots expired", lTable},
		{"silt_maintenance_partitions_expired_total", c, "partitions expired", lTable},
		{"silt_maintenance_files_deleted_total", c, "data files deleted (expired snapshots and orphans)", lTable},
		{"silt_maintenance_deleted_bytes_total", c, "bytes deleted", lTable},
		{"silt_maintenance_orphans_deleted_total", c, "orphan files deleted", lTable},
		{"silt_maintenance_files_tiered_total", c, "files moved to another tier", lTable},
		{"silt_maintenance_tiered_bytes_total", c, "bytes moved to another tier", lTable},
		{"silt_maintenance_tags_created_total", c, "automatic tags created", lTable},
		{"silt_maintenance_tags_deleted_total", c, "automatic tags deleted", lTable},
		{"silt_maintenance_leases_cleaned_total", c, "expired leases removed", lTable},
		{"silt_maintenance_duration_seconds_total", c, "time spent running the lifecycle policies", lTable},
		{"silt_maintenance_last_run_timestamp_seconds", g, "Unix time of the last lifecycle run", lTable},
		{"silt_maintenance_pending_actions", g, "actions the next lifecycle run would take (dry run after each run)", lTable},

		{"silt_sink_running", g, "1 while the sink runs", lSink},
		{"silt_sink_records_consumed_total", c, "Kafka records taken into a batch", lSink},
		{"silt_sink_records_committed_total", c, "records whose batch was committed", lSink},
		{"silt_sink_rows_written_total", c, "changelog rows written to the table", lSink},
		{"silt_sink_tombstones_total", c, "records that carried no change", lSink},
		{"silt_sink_duplicates_skipped_total", c, "records below the expected offset, skipped", lSink},
		{"silt_sink_offset_gaps_total", c, "jumps forward in a partition's offsets", lSink},
		{"silt_sink_commits_total", c, "successful table commits", lSink},
		{"silt_sink_commit_failures_total", c, "failed commits (each batch is replayed)", lSink},
		{"silt_sink_commits_fenced_total", c, "commits rejected because another process had advanced the offsets (conflicts)", lSink},
		{"silt_sink_resets_total", c, "batches aborted and re-read from the table's offsets", lSink},
		{"silt_sink_last_commit_duration_seconds", g, "duration of the last commit", lSink},
		{"silt_sink_last_commit_freshness_seconds", g, "freshness of the oldest record of the last commit", lSink},
		{"silt_sink_lag_records", g, "high watermark minus next offset to apply, per partition", []string{"sink", "table", "topic", "partition"}},
		{"silt_sink_unowned_lag_records", g, "per partition this sink does not own: high watermark minus the table's stored offset (a dead member's partitions show here until the session timeout)", []string{"sink", "table", "topic", "partition"}},
		{"silt_sink_dlq_records_total", c, "records sent to the dead-letter topic, by reason", []string{"sink", "table", "reason"}},
		{"silt_sink_fetch_paused", g, "1 while fetching is paused because the table stalled", lSink},
		{"silt_sink_fetch_pauses_total", c, "times fetching was paused by a stalled table", lSink},
		{"silt_sink_stall_seconds_total", c, "time fetching stayed paused", lSink},
		{"silt_sink_batch_bytes", g, "estimated memory of the open batch", lSink},
		{"silt_sink_columns_added_total", c, "columns added by schema evolution", lSink},

		{"silt_cache_hits_total", c, "disk cache hits by tier of the object read", []string{"tier"}},
		{"silt_cache_misses_total", c, "disk cache misses (read from the object store)", []string{"tier"}},
		{"silt_cache_evictions_total", c, "disk cache entries evicted to stay within the budget", []string{"tier"}},
		{"silt_cache_hit_ratio", g, "disk cache hits per lookup since start, all tiers", nil},
		{"silt_cache_bytes", g, "bytes held by the disk cache", nil},
		{"silt_cache_budget_bytes", g, "the disk cache's byte budget (--cache-size)", nil},

		{"silt_lookup_index_lookups_total", c, "point lookups through tables with the lookup index enabled, by what answered them (index, files)", []string{"answered_by"}},
		{"silt_lookup_index_catch_ups_total", c, "incremental catch-ups of lookup indexes", nil},
		{"silt_lookup_index_snapshots_applied_total", c, "snapshots the catch-ups stepped over", nil},
		{"silt_lookup_index_rebuilds_total", c, "full rebuilds of lookup indexes from the object store", nil},
		{"silt_lookup_index_records_applied_total", c, "records merged or loaded into lookup indexes", nil},
		{"silt_lookup_index_files_read_total", c, "data files read by catch-ups and rebuilds", nil},
		{"silt_lookup_index_failures_total", c, "lookup index errors that reset an index or failed a catch-up (lookups then read the data files)", nil},
		{"silt_lookup_index_bounded_lookups_total", c, "Gets at the latest snapshot with lookup.max-staleness, by what answered them: index (within the bound, no store request) or strict (confirmation too old: checked in the store)", []string{"answered_by"}},
		{"silt_lookup_index_bounded_staleness_seconds", g, "age of the latest-snapshot confirmation behind the last bounded Get's answer (the largest over the indexes)", nil},
		{"silt_lookup_index_refreshes_total", c, "background checks of the latest snapshot for bounded Gets, by result (ok, failed)", []string{"result"}},

		{"silt_iceberg_requests_total", c, "requests to the Iceberg REST catalog (/iceberg), by operation (config, list_namespaces, load_namespace, namespace_exists, list_tables, load_table, table_exists, list_views, load_view, write, unknown) and HTTP status code", []string{"operation", "code"}},
	}
}

// histDef is a histogram silt serve exports, fed by the sinks'
// observations (stream.Observer) as they happen.
type histDef struct {
	Name    string
	Help    string
	Labels  []string
	Buckets []float64
}

func histogramDefs() []histDef {
	return []histDef{
		{"silt_sink_commit_duration_seconds", "duration of the sink's table commits", lSink,
			[]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}},
		{"silt_sink_freshness_seconds", "time from a committed record's Kafka timestamp to the snapshot holding it becoming visible, one observation per record", lSink,
			[]float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}},
	}
}

// MetricNames returns the names of every metric silt serve exports (besides
// the Go runtime's go_* and process_* metrics), sorted.
func MetricNames() []string {
	var out []string
	for _, d := range metricDefs() {
		out = append(out, d.Name)
	}
	for _, d := range histogramDefs() {
		out = append(out, d.Name)
	}
	sort.Strings(out)
	return out
}

// collector exports the server's state at each scrape.
type collector struct {
	s     *Server
	descs map[string]*prometheus.Desc
	defs  map[string]metricDef
}

func newCollector(s *Server) *collector {
	c := &collector{s: s, descs: map[string]*prometheus.Desc{}, defs: map[string]metricDef{}}
	for _, d := range metricDefs() {
		c.descs[d.Name] = prometheus.NewDesc(d.Name, d.Help, d.Labels, nil)
		c.defs[d.Name] = d
	}
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	emit := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], c.defs[name].Type, v, labels...)
	}
	s := c.s
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	emit("silt_build_info", 1, s.o.Version)
	emit("silt_ready", b2f(s.ready))
	if s.startup > 0 {
		emit("silt_startup_duration_seconds", s.startup.Seconds())
	}
	for _, name := range sortedTableNames(s.tables) {
		st := s.tables[name]
		c.collectTable(emit, st, now)
	}
	for i, sk := range s.o.Sinks {
		c.collectSink(emit, sk, s.sinkRunning[i])
	}
	if s.o.CacheStats != nil {
		if cs, ok := s.o.CacheStats(); ok {
			var hits, misses int64
			for tier, ts := range cs.Tiers {
				if tier == "" {
					tier = "hot"
				}
				emit("silt_cache_hits_total", float64(ts.Hits), tier)
				emit("silt_cache_misses_total", float64(ts.Misses), tier)
				emit("silt_cache_evictions_total", float64(ts.Evictions), tier)
				hits, misses = hits+ts.Hits, misses+ts.Misses
			}
			if hits+misses > 0 {
				emit("silt_cache_hit_ratio", float64(hits)/float64(hits+misses))
			}
			emit("silt_cache_bytes", float64(cs.Bytes))
			emit("silt_cache_budget_bytes", float64(cs.Budget))
		}
	}
	for k, v := range s.icebergRequests {
		emit("silt_iceberg_requests_total", float64(v), k[0], k[1])
	}
	if s.o.LookupIndexStats != nil {
		if ls, ok := s.o.LookupIndexStats(); ok {
			emit("silt_lookup_index_lookups_total", float64(ls.IndexLookups), "index")
			emit("silt_lookup_index_lookups_total", float64(ls.FileLookups), "files")
			emit("silt_lookup_index_catch_ups_total", float64(ls.CatchUps))
			emit("silt_lookup_index_snapshots_applied_total", float64(ls.SnapshotsApplied))
			emit("silt_lookup_index_rebuilds_total", float64(ls.Rebuilds))
			emit("silt_lookup_index_records_applied_total", float64(ls.RecordsApplied))
			emit("silt_lookup_index_files_read_total", float64(ls.FilesRead))
			emit("silt_lookup_index_failures_total", float64(ls.Failures))
			emit("silt_lookup_index_bounded_lookups_total", float64(ls.BoundedLookups), "index")
			emit("silt_lookup_index_bounded_lookups_total", float64(ls.BoundedFallbacks), "strict")
			emit("silt_lookup_index_bounded_staleness_seconds", ls.BoundedAge.Seconds())
			emit("silt_lookup_index_refreshes_total", float64(ls.Refreshes-ls.RefreshFailures), "ok")
			emit("silt_lookup_index_refreshes_total", float64(ls.RefreshFailures), "failed")
		}
	}
}

// sinkHistograms are the Prometheus histograms of the sinks' commit
// latency and freshness.
type sinkHistograms struct {
	commit, freshness *prometheus.HistogramVec
}

func newSinkHistograms() *sinkHistograms {
	vec := func(d histDef) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: d.Name, Help: d.Help, Buckets: d.Buckets}, d.Labels)
	}
	defs := histogramDefs()
	return &sinkHistograms{commit: vec(defs[0]), freshness: vec(defs[1])}
}

// observer returns the stream.Observer feeding the histograms of one sink.
func (h *sinkHistograms) observer(sink, table string) stream.Observer {
	return sinkObserver{commit: h.commit.WithLabelValues(sink, table), freshness: h.freshness.WithLabelValues(sink, table)}
}

type sinkObserver struct {
	commit, freshness prometheus.Observer
}

func (o sinkObserver) ObserveCommit(d time.Duration) { o.commit.Observe(d.Seconds()) }

// ObserveFreshness counts weight records (the sink samples timestamps;
// each sample stands for weight records).
func (o sinkObserver) ObserveFreshness(d time.Duration, weight int64) {
	v := d.Seconds()
	for range weight {
		o.freshness.Observe(v)
	}
}

func (c *collector) collectTable(emit func(string, float64, ...string), st *tableState, now time.Time) {
	n := st.Name
	emit("silt_refresh_errors_total", float64(st.refreshErrors), n)
	if st.Refreshed.IsZero() {
		return
	}
	emit("silt_table_refresh_timestamp_seconds", unixSeconds(st.Refreshed), n)
	emit("silt_table_snapshots", float64(st.SnapshotCount), n)
	if st.Oldest != nil {
		emit("silt_table_oldest_snapshot_age_seconds", ageSeconds(now, st.Oldest.TimeMillis), n)
	}
	if st.Latest != nil {
		emit("silt_table_latest_snapshot_id", float64(st.Latest.ID), n)
		emit("silt_table_latest_snapshot_age_seconds", ageSeconds(now, st.Latest.TimeMillis), n)
	}
	emit("silt_table_tags", float64(len(st.Tags)), n)
	emit("silt_table_branches", float64(len(st.Branches)), n)
	for tier, ts := range st.Tiers {
		emit("silt_table_files", float64(ts.Files), n, tier)
		emit("silt_table_bytes", float64(ts.Bytes), n, tier)
	}
	emit("silt_table_records", float64(st.LiveRecords), n)
	emit("silt_table_stored_bytes", float64(st.StoredBytes), n)
	emit("silt_table_space_amplification_ratio", st.spaceAmplification(), n)
	emit("silt_table_write_amplification_ratio", st.writeAmplification(), n)
	emit("silt_table_flushed_bytes_total", float64(st.FlushedBytes), n)
	emit("silt_table_compaction_output_bytes_total", float64(st.CompactedBytes), n)
	emit("silt_table_ingested_records_total", float64(st.Ingested), n)
	emit("silt_table_rewritten_records_total", float64(st.Rewritten), n)
	for kind, v := range st.CommitsBy {
		emit("silt_table_commits_total", float64(v), n, string(kind))
	}
	var backlog, backlogBytes int64
	for _, b := range st.Buckets {
		bl := []string{n, b.Partition, strconv.Itoa(b.Bucket)}
		emit("silt_bucket_sorted_runs", float64(b.SortedRuns), bl...)
		emit("silt_bucket_sorted_runs_until_stall", float64(b.UntilStall), bl...)
		emit("silt_bucket_bytes", float64(b.Bytes), bl...)
		emit("silt_bucket_records", float64(b.Records), bl...)
		for lvl, files := range b.FilesPerLevel {
			if files > 0 {
				emit("silt_bucket_files", float64(files), append(bl, strconv.Itoa(lvl))...)
			}
		}
		if b.NeedsCompaction {
			backlog++
			backlogBytes += b.Bytes
		}
	}
	emit("silt_table_compaction_backlog_buckets", float64(backlog), n)
	emit("silt_table_compaction_backlog_bytes", float64(backlogBytes), n)

	cc := st.Compact
	if cc.RunsOK+cc.RunsFailed > 0 {
		emit("silt_compaction_runs_total", float64(cc.RunsOK), n, "ok")
		emit("silt_compaction_runs_total", float64(cc.RunsFailed), n, "error")
		for status, v := range cc.Buckets {
			emit("silt_compaction_buckets_total", float64(v), n, status)
		}
		emit("silt_compaction_read_bytes_total", float64(cc.BytesRead), n)
		emit("silt_compaction_written_bytes_total", float64(cc.BytesWritten), n)
		emit("silt_compaction_duration_seconds_total", cc.Seconds, n)
		emit("silt_compaction_last_run_timestamp_seconds", unixSeconds(cc.LastRun), n)
	}
	mc := st.Maintain
	if mc.RunsOK+mc.RunsFailed > 0 {
		r := mc.Report
		emit("silt_maintenance_runs_total", float64(mc.RunsOK), n, "ok")
		emit("silt_maintenance_runs_total", float64(mc.RunsFailed), n, "error")
		emit("silt_maintenance_snapshots_expired_total", float64(r.SnapshotsExpired), n)
		emit("silt_maintenance_partitions_expired_total", float64(r.PartitionsExpired), n)
		emit("silt_maintenance_files_deleted_total", float64(r.FilesDeleted), n)
		emit("silt_maintenance_deleted_bytes_total", float64(r.BytesDeleted), n)
		emit("silt_maintenance_orphans_deleted_total", float64(r.OrphansDeleted), n)
		emit("silt_maintenance_files_tiered_total", float64(r.FilesTiered), n)
		emit("silt_maintenance_tiered_bytes_total", float64(r.BytesTiered), n)
		emit("silt_maintenance_tags_created_total", float64(mc.TagsCreated), n)
		emit("silt_maintenance_tags_deleted_total", float64(mc.TagsDeleted), n)
		emit("silt_maintenance_leases_cleaned_total", float64(r.LeasesCleaned), n)
		emit("silt_maintenance_duration_seconds_total", mc.Seconds, n)
		emit("silt_maintenance_last_run_timestamp_seconds", unixSeconds(mc.LastRun), n)
		emit("silt_maintenance_pending_actions", float64(len(mc.Next)), n)
	}
}

func (c *collector) collectSink(emit func(string, float64, ...string), sk Sink, running bool) {
	m := sk.Runner.Metrics().Snapshot()
	l := []string{sk.Name, sk.Table}
	with := func(extra ...string) []string { return append(append([]string{}, l...), extra...) }
	emit("silt_sink_running", b2f(running), l...)
	for _, v := range []struct {
		name string
		v    int64
	}{
		{"silt_sink_records_consumed_total", m.RecordsConsumed},
		{"silt_sink_records_committed_total", m.RecordsCommitted},
		{"silt_sink_rows_written_total", m.RowsWritten},
		{"silt_sink_tombstones_total", m.Tombstones},
		{"silt_sink_duplicates_skipped_total", m.DuplicatesSkipped},
		{"silt_sink_offset_gaps_total", m.OffsetGaps},
		{"silt_sink_commits_total", m.Commits},
		{"silt_sink_commit_failures_total", m.CommitFailures},
		{"silt_sink_commits_fenced_total", m.Fenced},
		{"silt_sink_resets_total", m.Resets},
		{"silt_sink_fetch_pauses_total", m.FetchPauses},
		{"silt_sink_batch_bytes", m.BatchBytes},
		{"silt_sink_columns_added_total", m.ColumnsAdded},
	} {
		emit(v.name, float64(v.v), l...)
	}
	emit("silt_sink_last_commit_duration_seconds", m.LastCommit.Seconds(), l...)
	emit("silt_sink_last_commit_freshness_seconds", m.FreshnessLastMax.Seconds(), l...)
	for tp, lag := range m.Lag {
		topic, part := splitTopicPartition(tp)
		emit("silt_sink_lag_records", float64(lag), with(topic, part)...)
	}
	for tp, lag := range m.UnownedLag {
		topic, part := splitTopicPartition(tp)
		emit("silt_sink_unowned_lag_records", float64(lag), with(topic, part)...)
	}
	for _, r := range stream.Reasons() {
		emit("silt_sink_dlq_records_total", float64(m.DLQ[r]), with(string(r))...)
	}
	emit("silt_sink_fetch_paused", b2f(m.FetchPaused), l...)
	emit("silt_sink_stall_seconds_total", m.StallTime.Seconds(), l...)
}

// splitTopicPartition splits the sink metrics' "topic/partition" key.
func splitTopicPartition(s string) (string, string) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func ageSeconds(now time.Time, millis int64) float64 {
	return max(0, float64(now.UnixMilli()-millis)/1000)
}

func sortedTableNames(m map[string]*tableState) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
