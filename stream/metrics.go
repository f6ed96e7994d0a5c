package stream

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// Metrics are a sink's counters and gauges. They are safe for concurrent
// use; Snapshot copies them for export, and an Observer sees each latency
// and freshness observation (silt serve's Prometheus histograms).
type Metrics struct {
	mu sync.Mutex
	m  MetricsSnapshot

	commitLatency Histogram
	freshness     Histogram
	observer      Observer
}

// Observer receives every commit latency and freshness observation as the
// sink makes it (silt serve feeds Prometheus histograms from them). Its
// methods must be fast and safe for concurrent use.
type Observer interface {
	// ObserveCommit is called once per successful commit.
	ObserveCommit(d time.Duration)
	// ObserveFreshness is called for committed records: weight records
	// became visible d after their Kafka timestamp.
	ObserveFreshness(d time.Duration, weight int64)
}

// SetObserver makes o receive the observations made from now on (nil
// stops them).
func (m *Metrics) SetObserver(o Observer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.observer = o
}

// MetricsSnapshot is a copy of a sink's metrics at one moment.
type MetricsSnapshot struct {
	// RecordsConsumed counts Kafka records taken into a batch (good, bad
	// and tombstones); RecordsCommitted those whose batch was committed.
	RecordsConsumed, RecordsCommitted int64
	// RowsWritten counts changelog rows written to the table.
	RowsWritten int64
	// Tombstones counts records that carried no change.
	Tombstones int64
	// DuplicatesSkipped counts records below the expected offset (a
	// position that lagged behind the table's stored offset).
	DuplicatesSkipped int64
	// OffsetGaps counts jumps forward in a partition's offsets (compacted
	// topics and transaction markers cause them; so does retention
	// deleting records the sink never read).
	OffsetGaps int64
	// DLQ counts bad records per reason; DLQTotal is their sum.
	DLQ      map[Reason]int64
	DLQTotal int64
	// Commits counts successful table commits; CommitFailures failed
	// ones (each aborts its batch and replays it); Fenced the failures
	// because another process had advanced the offsets.
	Commits, CommitFailures, Fenced int64
	// Resets counts batches aborted and re-read from the table's offsets.
	Resets int64
	// LastCommit is the duration of the last commit; CommitP50/P99 are
	// quantiles over all commits.
	LastCommit, CommitP50, CommitP99 time.Duration
	// Freshness is the time from a record's Kafka timestamp to the
	// snapshot holding it becoming visible: FreshnessP50/P99 over all
	// committed records, FreshnessLastMax for the oldest record of the
	// last commit.
	FreshnessP50, FreshnessP99, FreshnessLastMax time.Duration
	// RecordsPerSecond is the committed record rate between the last two
	// commits.
	RecordsPerSecond float64
	// Lag is, per "topic/partition", the high watermark minus the next
	// offset to apply, as of the last fetch.
	Lag map[string]int64
	// UnownedLag is, per "topic/partition" of the sink's topics that this
	// sink does not own, the high watermark minus the next offset the
	// table stores for the group (the whole partition when it stores
	// none): what the partition's owner has yet to commit. Refreshed
	// every commit interval (at least 500ms, at most 15s apart). In a
	// group whose other members are dead, these are the partitions no
	// member consumes; they move into Lag when the group gives them to
	// this sink (after the session timeout).
	UnownedLag map[string]int64
	// FetchPauses counts the times fetching was paused because the table
	// stalled (a write, flush or commit blocked longer than the stall
	// threshold); FetchPaused says whether it is paused now.
	FetchPauses int64
	FetchPaused bool
	// StallTime is the total time fetching stayed paused.
	StallTime time.Duration
	// BatchBytes estimates the memory held by the open batch.
	BatchBytes int64
	// ColumnsAdded counts columns the sink added to the table
	// (schema-evolution add-columns; an ADD that found the column already
	// there, e.g. after a restart, counts too).
	ColumnsAdded int64
}

// NewMetrics returns zeroed metrics.
func NewMetrics() *Metrics {
	return &Metrics{m: MetricsSnapshot{DLQ: map[Reason]int64{}, Lag: map[string]int64{}, UnownedLag: map[string]int64{}}}
}

// Snapshot copies the metrics.
func (m *Metrics) Snapshot() MetricsSnapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.m
	s.DLQ = make(map[Reason]int64, len(m.m.DLQ))
	for k, v := range m.m.DLQ {
		s.DLQ[k] = v
	}
	s.Lag = make(map[string]int64, len(m.m.Lag))
	for k, v := range m.m.Lag {
		s.Lag[k] = v
	}
	s.UnownedLag = make(map[string]int64, len(m.m.UnownedLag))
	for k, v := range m.m.UnownedLag {
		s.UnownedLag[k] = v
	}
	s.CommitP50 = m.commitLatency.Quantile(0.5)
	s.CommitP99 = m.commitLatency.Quantile(0.99)
	s.FreshnessP50 = m.freshness.Quantile(0.5)
	s.FreshnessP99 = m.freshness.Quantile(0.99)
	return s
}

func (m *Metrics) update(fn func(s *MetricsSnapshot)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fn(&m.m)
}

func (m *Metrics) observeCommit(d time.Duration) {
	m.mu.Lock()
	m.m.LastCommit = d
	m.commitLatency.Add(d, 1)
	o := m.observer
	m.mu.Unlock()
	if o != nil {
		o.ObserveCommit(d)
	}
}

func (m *Metrics) observeFreshness(d time.Duration, weight int64) {
	m.mu.Lock()
	m.freshness.Add(d, weight)
	o := m.observer
	m.mu.Unlock()
	if o != nil && weight > 0 {
		o.ObserveFreshness(d, weight)
	}
}

// String renders the metrics on a few lines, for logs and the CLI.
func (s MetricsSnapshot) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "records consumed %d, committed %d, rows written %d, tombstones %d, duplicates skipped %d, offset gaps %d\n",
		s.RecordsConsumed, s.RecordsCommitted, s.RowsWritten, s.Tombstones, s.DuplicatesSkipped, s.OffsetGaps)
	fmt.Fprintf(&b, "commits %d (failed %d, fenced %d, resets %d), commit latency last %s p50 %s p99 %s, %.0f records/s\n",
		s.Commits, s.CommitFailures, s.Fenced, s.Resets, s.LastCommit.Round(time.Millisecond), s.CommitP50.Round(time.Millisecond), s.CommitP99.Round(time.Millisecond), s.RecordsPerSecond)
	fmt.Fprintf(&b, "freshness p50 %s p99 %s; fetch pauses %d (stalled %s)\n",
		s.FreshnessP50.Round(time.Millisecond), s.FreshnessP99.Round(time.Millisecond), s.FetchPauses, s.StallTime.Round(time.Millisecond))
	fmt.Fprintf(&b, "dead-letter records %d", s.DLQTotal)
	reasons := make([]string, 0, len(s.DLQ))
	for r, n := range s.DLQ {
		if n > 0 {
			reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
		}
	}
	sort.Strings(reasons)
	if len(reasons) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(reasons, ", "))
	}
	var lag int64
	for _, l := range s.Lag {
		lag += l
	}
	fmt.Fprintf(&b, "; lag %d records over %d partitions", lag, len(s.Lag))
	if len(s.UnownedLag) > 0 {
		var other int64
		for _, l := range s.UnownedLag {
			other += l
		}
		fmt.Fprintf(&b, " (not owned here: %d records over %d partitions)", other, len(s.UnownedLag))
	}
	if s.ColumnsAdded > 0 {
		fmt.Fprintf(&b, "; columns added %d", s.ColumnsAdded)
	}
	return b.String()
}

// Histogram counts durations in logarithmic buckets (about 4% wide) from
// 10µs to ~3 hours; quantiles are bucket midpoints. The zero value is
// ready to use; it is not safe for concurrent use on its own.
type Histogram struct {
	counts [histBuckets]int64
	total  int64
}

const (
	histBuckets = 512
	histMin     = 10 * time.Microsecond
	histGrowth  = 1.04
)

var histLogGrowth = math.Log(histGrowth)

func histBucket(d time.Duration) int {
	if d <= histMin {
		return 0
	}
	i := int(math.Log(float64(d)/float64(histMin))/histLogGrowth) + 1
	return min(i, histBuckets-1)
}

// Add counts d weight times.
func (h *Histogram) Add(d time.Duration, weight int64) {
	if weight <= 0 {
		return
	}
	h.counts[histBucket(d)] += weight
	h.total += weight
}

// Count is the number of values added.
func (h *Histogram) Count() int64 { return h.total }

// Quantile returns the q-quantile (0 < q <= 1), or 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.total)))
	rank = max(rank, 1)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			if i == 0 {
				return histMin
			}
			lo := float64(histMin) * math.Pow(histGrowth, float64(i-1))
			return time.Duration(lo * (1 + histGrowth) / 2)
		}
	}
	return time.Duration(float64(histMin) * math.Pow(histGrowth, histBuckets))
}
