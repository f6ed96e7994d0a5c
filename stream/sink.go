package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Options configure a Sink. Zero fields get the default named in their
// comment; EnsureDefaults fills them and Validate checks the result.
type Options struct {
	// Brokers are the Kafka seed brokers (host:port). Required.
	Brokers []string
	// Topics are the topics consumed into the table. Required.
	Topics []string
	// Group is the Kafka consumer group. The table stores the group's
	// offsets, so the group names the sink's progress. Required.
	Group string
	// Member is this process's stable identity within the group; the
	// commit user is "sink/<group>/<member>". A restarted process should
	// keep it. Default: the host name.
	Member string
	// Format decodes records. Required.
	Format Format
	// CommitInterval is the longest a consumed record waits before the
	// commit that makes it visible. Default: 10s.
	CommitInterval time.Duration
	// DLQTopic receives bad records. Empty: the sink stops at the first
	// bad record (after committing the records before it).
	DLQTopic string
	// MemoryBudget bounds the memory the sink uses for fetched records,
	// the open batch and dead-letter produce buffers. Default: 256 MiB;
	// at least 4 MiB.
	MemoryBudget int64
	// StallThreshold: when a table write, flush or commit blocks longer,
	// fetching is paused until it returns. Default: 1s.
	StallThreshold time.Duration
	// StartOffset is where a partition starts when the table holds no
	// offset for it: "earliest" (default) or "latest".
	StartOffset string
	// MaxFailures is how many commits in a row may fail (each aborts and
	// replays its batch) before Run gives up. Fenced commits do not count.
	// Default: 10.
	MaxFailures int
	// MaxPollRecords bounds the records taken per poll. Default: 10000.
	MaxPollRecords int
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Rand returns a uniformly random int64 in [0, n), for backoff jitter;
	// the sink may call it from several goroutines. Default:
	// math/rand/v2.Int64N.
	Rand func(n int64) int64
	// Logf receives progress and problems. Default: discard.
	Logf func(format string, args ...any)
	// Security is the SASL and TLS of the Kafka connection (for the
	// consumer and the dead-letter producer).
	Security KafkaSecurity
	// ClientOpts are extra franz-go options (group timeouts, a dialer).
	// They are applied last.
	ClientOpts []kgo.Opt
	// Metrics receives the counters. Default: new metrics.
	Metrics *Metrics
	// Evolver adds the columns a record's Debezium schema has and the
	// table lacks, for a format built with SchemaEvolution add-columns
	// (cmd/silt passes catalog.AlterTable). nil: such records are
	// schema-incompatible. The table must come from a catalog (it needs
	// its schema loader to reopen on the new schema).
	Evolver SchemaEvolver
}

// Defaults of Options.
const (
	DefaultCommitInterval = 10 * time.Second
	DefaultMemoryBudget   = 256 << 20
	MinMemoryBudget       = 4 << 20
	DefaultStallThreshold = time.Second
	DefaultMaxFailures    = 10
	DefaultMaxPollRecords = 10000
)

// EnsureDefaults returns o with every unset field defaulted.
func (o Options) EnsureDefaults() Options {
	if o.Member == "" {
		o.Member = defaultMember()
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = DefaultCommitInterval
	}
	if o.MemoryBudget == 0 {
		o.MemoryBudget = DefaultMemoryBudget
	}
	if o.StallThreshold <= 0 {
		o.StallThreshold = DefaultStallThreshold
	}
	if o.StartOffset == "" {
		o.StartOffset = "earliest"
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = DefaultMaxFailures
	}
	if o.MaxPollRecords <= 0 {
		o.MaxPollRecords = DefaultMaxPollRecords
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Int64N
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	return o
}

// Validate checks options after EnsureDefaults.
func (o *Options) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: sink: %s", types.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if len(o.Brokers) == 0 {
		return bad("no brokers")
	}
	for _, b := range o.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			return bad("broker %q is not host:port", b)
		}
	}
	if len(o.Topics) == 0 {
		return bad("no topics")
	}
	seen := map[string]bool{}
	for _, t := range o.Topics {
		if err := ValidateTopic(t); err != nil {
			return err
		}
		if seen[t] {
			return bad("topic %q listed twice", t)
		}
		seen[t] = true
	}
	if o.Group == "" || len(o.Group) > 249 {
		return bad("the consumer group must be 1..249 characters")
	}
	if strings.ContainsAny(o.Member, "/\x00") || len(o.Member) > 128 {
		return bad("member %q: at most 128 characters, no '/'", o.Member)
	}
	if o.Format == nil {
		return bad("no format")
	}
	if o.DLQTopic != "" {
		if err := ValidateTopic(o.DLQTopic); err != nil {
			return err
		}
		if seen[o.DLQTopic] {
			return bad("the dead-letter topic %q is also a source topic", o.DLQTopic)
		}
	}
	if o.MemoryBudget < MinMemoryBudget {
		return bad("memory budget %d bytes is below the minimum of %d", o.MemoryBudget, MinMemoryBudget)
	}
	if o.StartOffset != "earliest" && o.StartOffset != "latest" {
		return bad("start offset %q (want earliest or latest)", o.StartOffset)
	}
	return nil
}

// ValidateTopic checks a Kafka topic name: 1..249 of [a-zA-Z0-9._-], not
// "." or "..".
func ValidateTopic(t string) error {
	if t == "" || len(t) > 249 || t == "." || t == ".." {
		return fmt.Errorf("%w: topic %q: want 1..249 characters, not \".\" or \"..\"", types.ErrInvalid, t)
	}
	for _, r := range t {
		if !(r == '.' || r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return fmt.Errorf("%w: topic %q: character %q not allowed (letters, digits, '.', '_', '-')", types.ErrInvalid, t, r)
		}
	}
	return nil
}

// Sink consumes Kafka topics into one table with exactly-once effect. See
// the package documentation for the protocol.
type Sink struct {
	t    *table.Table
	o    Options
	user string
	m    *Metrics

	drainCtx context.Context // done when Drain is called
	drain    context.CancelFunc
	running  atomic.Bool

	// mu guards everything below. It is held while processing a poll and
	// in rebalance callbacks, never while polling.
	mu       sync.Mutex
	cl       *kgo.Client
	runCtx   context.Context
	w        *table.Writer
	parts    map[TopicPartition]*partState
	b        batch
	needSeek bool  // rewind every partition before using the next poll
	dead     bool  // Run is returning: callbacks must not touch the table
	fails    int   // failed commits in a row
	resets   int   // batches dropped so far
	consumed int64 // records taken by the poll being handled (for metrics)
	fatal    error
	toKafka  map[string]map[int32]kgo.EpochOffset // offsets to commit to Kafka (monitoring)
	lastDone time.Time

	ev              sinkEvolution // schema generation and refused column sets
	lastSchemaCheck time.Time     // last look for an external ALTER

	bp backpressure

	// bytesGen counts the times s.b.bytes restarted from zero (a flush,
	// commit or reset): a chunk charged in an earlier generation is
	// charged again when more of its rows are taken.
	bytesGen int64

	cb   []*changeBuilder // the decoding goroutines' builders (reused across polls)
	pend pending          // decoded rows applied but not yet written

	dlqMu  sync.Mutex
	dlqErr error
}

// partState is the sink's view of one assigned partition.
type partState struct {
	stored    int64 // the table's offset as last read or committed (noOffset: none)
	firstSeen int64 // first offset fetched since assignment (noOffset: none yet)
	next      int64 // next offset expected (noOffset: any)
	batchFrom int64 // offset of the open batch's first record (when dirty)
	dirty     bool  // the open batch consumed from this partition
}

// rewindTo is where consumption restarts after the open batch is dropped.
func (p *partState) rewindTo() int64 {
	if p.stored != noOffset {
		return p.stored
	}
	return p.firstSeen
}

// New returns a sink writing into t. It does no I/O.
func New(t *table.Table, o Options) (*Sink, error) {
	o = o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	user := "sink/" + o.Group + "/" + o.Member
	drainCtx, drain := context.WithCancel(context.Background())
	return &Sink{
		t:        t,
		o:        o,
		user:     user,
		m:        o.Metrics,
		drainCtx: drainCtx,
		drain:    drain,
		parts:    map[TopicPartition]*partState{},
		w:        t.NewWriter(user),
		toKafka:  map[string]map[int32]kgo.EpochOffset{},
	}, nil
}

// Metrics returns the sink's metrics.
func (s *Sink) Metrics() *Metrics { return s.m }

// User is the commit user of the sink's snapshots.
func (s *Sink) User() string { return s.user }

// Drain asks Run to commit what it has consumed and return nil. It does
// not wait.
func (s *Sink) Drain() { s.drain() }

func (s *Sink) clientOpts() ([]kgo.Opt, error) {
	sec, err := s.o.Security.ClientOpts()
	if err != nil {
		return nil, err
	}
	fetchMax, partMax := fetchLimits(s.o.MemoryBudget)
	start := kgo.NewOffset().AtStart()
	if s.o.StartOffset == "latest" {
		start = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(s.o.Brokers...),
		kgo.ClientID("silt-sink"),
		kgo.ConsumerGroup(s.o.Group),
		kgo.ConsumeTopics(s.o.Topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.AdjustFetchOffsetsFn(s.adjustOffsets),
		kgo.OnPartitionsRevoked(s.onRevoked),
		kgo.OnPartitionsLost(s.onLost),
		kgo.ConsumeResetOffset(start),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxBytes(int32(fetchMax)),
		kgo.FetchMaxPartitionBytes(int32(partMax)),
		kgo.MaxConcurrentFetches(2),
		kgo.MaxBufferedBytes(int(s.o.MemoryBudget / 16)), // the dead-letter producer's
	}
	opts = append(opts, sec...)
	return append(opts, s.o.ClientOpts...), nil
}

// fetchLimits are the Kafka fetch's response and per-partition limits for
// a memory budget. They count compressed bytes, and a fetch is
// decompressed at once: Debezium JSON with its schema envelope compresses
// about ten times (the sink benchmark's fetches of 8 MiB per partition held
// ~100k events, ~290 MB), so the former limits (budget/8 per response,
// budget/16 up to 8 MiB per partition) let one fetch hold more than the
// whole budget once decompressed. Per partition the limit is now Kafka's
// consumer default (1 MiB) at the default budget; per response budget/32.
func fetchLimits(budget int64) (fetchMax, partMax int64) {
	fetchMax = min(max(budget/32, 1<<20), 64<<20)
	partMax = min(max(budget/256, 64<<10), 1<<20)
	return fetchMax, partMax
}

// errClosed reports a Kafka client that closed under Run.
var errClosed = errors.New("kafka client closed")

// Run consumes until ctx ends (then it returns ctx's error without
// committing: like a crash, the open batch is replayed by whoever runs
// next), until Drain (then it commits and returns nil), or until a
// failure it cannot recover from. A Sink runs once.
func (s *Sink) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: sink %s: Run called twice", types.ErrInvalid, s.user)
	}
	opts, err := s.clientOpts()
	if err != nil {
		return fmt.Errorf("sink %s: %w", s.user, err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("%w: sink %s: kafka client: %v", types.ErrInvalid, s.user, err)
	}
	// The start check ends early on Drain too (SIGTERM while the brokers
	// are unreachable must not wait for the ping timeout).
	checkCtx, endCheck := context.WithCancel(ctx)
	stopCheck := context.AfterFunc(s.drainCtx, endCheck)
	err = checkConnect(checkCtx, cl, s.o.Brokers, s.o.Security, s.o.Logf)
	stopCheck()
	endCheck()
	if err != nil {
		cl.Close()
		return fmt.Errorf("sink %s: %w", s.user, err)
	}
	s.mu.Lock()
	s.cl, s.runCtx = cl, ctx
	s.mu.Unlock()
	wctx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); s.watchdog(wctx) }()
	defer func() {
		stopWatch()
		<-watchDone
		s.mu.Lock()
		s.dead = true
		s.mu.Unlock()
		cl.CloseAllowingRebalance()
		s.mu.Lock()
		w := s.w
		s.mu.Unlock()
		closeWriter(w)
	}()
	s.o.Logf("sink %s: consuming %s into %s", s.user, strings.Join(s.o.Topics, ","), s.t.Name())

	for {
		if s.drainCtx.Err() != nil {
			return s.finish(ctx)
		}
		pollCtx, cancel := context.WithTimeout(ctx, s.untilCommitDue())
		stop := context.AfterFunc(s.drainCtx, cancel)
		fetches := cl.PollRecords(pollCtx, s.o.MaxPollRecords)
		stop()
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		if fetches.IsClientClosed() {
			return fmt.Errorf("sink %s: %w", s.user, errClosed)
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				s.o.Logf("sink %s: fetch %s/%d: %v", s.user, topic, p, err)
			}
		})
		err := s.handle(ctx, fetches)
		cl.AllowRebalance()
		s.commitToKafka(ctx)
		if err != nil {
			return err
		}
	}
}

// finish commits the open batch for Drain.
func (s *Sink) finish(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fatal != nil {
		return s.fatal
	}
	resets := s.resets
	if err := s.commit(ctx, true); err != nil {
		return err
	}
	if s.resets != resets {
		return fmt.Errorf("sink %s: drain: the last batch could not be committed; the next run replays it (nothing is lost)", s.user)
	}
	s.o.Logf("sink %s: drained", s.user)
	return nil
}

// untilCommitDue is how long a poll may wait before the open batch is due.
func (s *Sink) untilCommitDue() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.records == 0 {
		return s.o.CommitInterval
	}
	d := s.b.started.Add(s.o.CommitInterval).Sub(s.o.Now())
	return max(d, time.Millisecond)
}

// commitToKafka commits the offsets of committed batches to Kafka, for
// monitoring tools only (the sink never reads them back). Best effort.
func (s *Sink) commitToKafka(ctx context.Context) {
	s.mu.Lock()
	offs := s.toKafka
	s.toKafka = map[string]map[int32]kgo.EpochOffset{}
	cl := s.cl
	s.mu.Unlock()
	if len(offs) == 0 {
		return
	}
	cl.CommitOffsets(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
		if err != nil && ctx.Err() == nil {
			s.o.Logf("sink %s: committing offsets to kafka (monitoring only): %v", s.user, err)
		}
	})
}

// closeWriter stops a table writer's background work (inline compaction)
// when the writer has a Close method; the open batch is already committed
// or abandoned.
func closeWriter(w any) {
	switch c := w.(type) {
	case interface{ Close() error }:
		_ = c.Close()
	case interface{ Close() }:
		c.Close()
	case interface{ Close(context.Context) error }:
		_ = c.Close(context.Background())
	}
}

// defaultMember is the host name (with '/' replaced), or "member".
func defaultMember() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "member"
	}
	return strings.ReplaceAll(h, "/", "_")
}
