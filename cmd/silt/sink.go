package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/stream"
)

const sinkHelp = `--brokers HOST:PORT[,…] --topic T[,…] --table DB.T --format F --group G [flags]
       silt sink --config sinks.yaml|sinks.json

Consumes Kafka topics into a table with exactly-once effect: every commit
stores the next offset of each partition in the snapshot, and a (re)started
sink resumes from there. --format is the Kafka record format:
debezium-json, upsert-json or json. --schema-evolution add-columns adds the columns
of Debezium schema changes to the table (nullable, at the end, subject to
its schema.compatibility); records that do not fit go to the DLQ.
SIGINT/SIGTERM commit what was consumed and exit; a
sink that cannot commit within 30s stops without committing (its batch is
replayed by the next run, never applied twice). SASL and TLS come from the
config keys sasl-mechanism, sasl-username, sasl-password-file,
sasl-oauth-token-file, tls, tls-ca-file, tls-cert-file, tls-key-file,
tls-server-name, or the SILT_KAFKA_* environment variables (which win);
the password only from SILT_KAFKA_SASL_PASSWORD or sasl-password-file.
A killed sink's partitions move to the group's other members after the
session timeout (--session-timeout, config key session-timeout, env
SILT_KAFKA_SESSION_TIMEOUT; default 10s); --static-membership keeps them
with a member that restarts under the same --member within that time.`

// sinkGrace is how long a signalled sink may take to commit before it is
// stopped without committing.
const sinkGrace = 30 * time.Second

func (a *app) cmdSink(ctx context.Context, args []string) error {
	var (
		configPath, brokers, topics, tableName, group, member string
		interval, dlq, unknown, budget, start, statsEvery     string
		evolution, session, tsUnit                            string
		static                                                bool
	)
	pos, err := a.parseFlags("sink", args, func(fs *flag.FlagSet) {
		fs.StringVar(&configPath, "config", "", "run the sinks of a YAML or JSON config file")
		fs.StringVar(&brokers, "brokers", "", "Kafka brokers, host:port[,…]")
		fs.StringVar(&topics, "topic", "", "topics to consume, T[,…]")
		fs.StringVar(&tableName, "table", "", "table to write, DB.TABLE")
		fs.StringVar(&group, "group", "", "Kafka consumer group (names the offsets stored in the table)")
		fs.StringVar(&member, "member", "", "stable identity of this process in the group (default: host name)")
		fs.StringVar(&interval, "commit-interval", "10s", "longest time a record waits before its commit")
		fs.StringVar(&dlq, "dlq-topic", "", "dead-letter topic for bad records (default: stop at the first bad record)")
		fs.StringVar(&unknown, "unknown-fields", "ignore", "JSON fields that are not columns: ignore or reject")
		fs.StringVar(&tsUnit, "timestamp-unit", "ms", "unit of a JSON number in a TIMESTAMP, TIMESTAMP_LTZ or TIME column when the record's schema does not name one: ms, us or ns")
		fs.StringVar(&evolution, "schema-evolution", "none", "add-columns: add the columns of Debezium schema changes (debezium-json with the schema envelope), subject to the table's schema.compatibility; none: never ALTER")
		fs.StringVar(&budget, "memory-budget", "256mb", "memory for fetched records and the open batch")
		fs.StringVar(&start, "start-offset", "earliest", "where a partition without a stored offset starts: earliest or latest")
		fs.StringVar(&statsEvery, "stats-interval", "10s", "how often to print metrics to stderr (0: never)")
		fs.StringVar(&session, "session-timeout", "", "how long the group waits for a silent member before its partitions move to the others (default 10s; env SILT_KAFKA_SESSION_TIMEOUT)")
		fs.BoolVar(&static, "static-membership", false, "the member name is the group instance id: a restart within the session timeout keeps its partitions without a rebalance (env SILT_KAFKA_STATIC_MEMBERSHIP)")
	}, sinkHelp)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: sink takes no arguments (got %q)", errUsage, pos[0])
	}
	every, err := time.ParseDuration(statsEvery)
	if err != nil || every < 0 {
		return fmt.Errorf("%w: --stats-interval %q is not a duration", errUsage, statsEvery)
	}
	var cfg *stream.Config
	if configPath != "" {
		if brokers != "" || topics != "" || tableName != "" || group != "" {
			return fmt.Errorf("%w: give --config or the sink flags, not both", errUsage)
		}
		data, err := os.ReadFile(configPath)
		if err != nil {
			return fmt.Errorf("%w: sink: config: %w", errUsage, err)
		}
		// Like silt serve: a config mistake (an unknown key, a bad value)
		// is a usage error, exit 2.
		if cfg, err = stream.ParseConfig(configPath, data); err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		if a.g.warehouse == "" {
			a.g.warehouse = cfg.Warehouse
		}
	} else {
		format := a.g.format
		if format == "table" {
			format = ""
		}
		var missing []string
		for _, f := range []struct{ name, v string }{{"--brokers", brokers}, {"--topic", topics}, {"--table", tableName}, {"--format", format}, {"--group", group}} {
			if f.v == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%w: sink needs %s (or --config FILE)", errUsage, strings.Join(missing, ", "))
		}
		cfg = &stream.Config{Sinks: []stream.SinkConfig{{
			Brokers: splitList(brokers), Topics: splitList(topics), Table: tableName, Format: format,
			Group: group, Member: member, CommitInterval: interval, DLQTopic: dlq, UnknownFields: unknown, TimestampUnit: tsUnit,
			MemoryBudget: budget, StartOffset: start, SchemaEvolution: evolution,
			KafkaGroup: stream.KafkaGroup{SessionTimeout: session, StaticMembership: static},
		}}}
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
	}
	// Settings errors first: they are usage errors whatever the warehouse.
	if err := checkSinkEnv(cfg.Sinks, a.getenv); err != nil {
		return err
	}
	cat, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	sinks, names, err := openSinks(ctx, cat, cfg.Sinks, a.getenv, func(label string) func(string, ...any) {
		return func(format string, args ...any) {
			fmt.Fprintf(a.stderr, "%s %s: %s\n", time.Now().Format("15:04:05"), label, fmt.Sprintf(format, args...))
		}
	})
	if err != nil {
		return err
	}
	return a.runSinks(ctx, sinks, names, every)
}

// checkSinkEnv checks the SILT_KAFKA_* settings of the environment that
// openSinks applies to each sink.
func checkSinkEnv(cfgs []stream.SinkConfig, getenv func(string) string) error {
	for _, sc := range cfgs {
		if _, err := sc.KafkaSecurity.WithEnv(getenv); err != nil {
			return fmt.Errorf("%w: sink %s: %w", errUsage, sc.DisplayName(), err)
		}
		if _, err := sc.KafkaGroup.WithEnv(getenv); err != nil {
			return fmt.Errorf("%w: sink %s: %w", errUsage, sc.DisplayName(), err)
		}
	}
	return nil
}

// openSinks builds the sinks of a config (without running them); logf
// returns the log function of the sink with the given display name;
// getenv supplies the SILT_KAFKA_* security settings, which win over the
// config's. `silt sink` and `silt serve` both use it.
func openSinks(ctx context.Context, cat *catalog.Catalog, cfgs []stream.SinkConfig, getenv func(string) string, logf func(label string) func(string, ...any)) ([]*stream.Sink, []string, error) {
	var sinks []*stream.Sink
	var names []string
	for _, sc := range cfgs {
		sec, err := sc.KafkaSecurity.WithEnv(getenv)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: sink %s: %w", errUsage, sc.DisplayName(), err)
		}
		sc.KafkaSecurity = sec
		if sc.KafkaGroup, err = sc.KafkaGroup.WithEnv(getenv); err != nil {
			return nil, nil, fmt.Errorf("%w: sink %s: %w", errUsage, sc.DisplayName(), err)
		}
		db, name, err := sc.TableName()
		if err != nil {
			return nil, nil, err
		}
		t, err := cat.LoadTable(ctx, db, name)
		if err != nil {
			return nil, nil, fmt.Errorf("sink %s: %w", sc.DisplayName(), err)
		}
		o, err := sc.Options(t.Schema())
		if err != nil {
			return nil, nil, fmt.Errorf("sink %s: %w", sc.DisplayName(), err)
		}
		if sc.AddsColumns() {
			o.Evolver = catalogEvolver{cat: cat, db: db, name: name}
		}
		label := sc.DisplayName()
		o.Logf = logf(label)
		s, err := stream.New(t, o)
		if err != nil {
			return nil, nil, fmt.Errorf("sink %s: %w", sc.DisplayName(), err)
		}
		sinks = append(sinks, s)
		names = append(names, label)
	}
	return sinks, names, nil
}

// runSinks runs the sinks until a signal (ctx) or the first failure: then
// every sink drains (commits) and, after sinkGrace or a failure to drain,
// stops.
func (a *app) runSinks(ctx context.Context, sinks []*stream.Sink, names []string, every time.Duration) error {
	runCtx, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	errs := make([]error, len(sinks))
	failed := make(chan struct{}, len(sinks))
	var wg sync.WaitGroup
	for i, s := range sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Run(runCtx)
			if errs[i] != nil {
				failed <- struct{}{}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	drain := func() {
		for _, s := range sinks {
			s.Drain()
		}
	}
wait:
	for {
		select {
		case <-done:
			break wait
		case <-ctx.Done():
			fmt.Fprintln(a.stderr, "silt sink: stopping: committing what was consumed")
			drain()
			select {
			case <-done:
			case <-time.After(sinkGrace):
				hardStop()
				<-done
			}
			break wait
		case <-failed:
			drain()
		case <-tick:
			for i, s := range sinks {
				fmt.Fprintf(a.stderr, "%s %s: %s\n", time.Now().Format("15:04:05"), names[i], oneLineMetrics(s.Metrics().Snapshot()))
			}
		}
	}
	var first error
	for i, s := range sinks {
		fmt.Fprintf(a.stdout, "sink %s:\n  %s\n", names[i], strings.ReplaceAll(s.Metrics().Snapshot().String(), "\n", "\n  "))
		if err := errs[i]; err != nil && !errors.Is(err, context.Canceled) && first == nil {
			first = fmt.Errorf("sink %s: %w", names[i], err)
		}
	}
	return first
}

func oneLineMetrics(m stream.MetricsSnapshot) string {
	var lag int64
	for _, l := range m.Lag {
		lag += l
	}
	var unowned int64
	for _, l := range m.UnownedLag {
		unowned += l
	}
	return fmt.Sprintf("%d records committed (%.0f/s), %d commits, lag %d (not owned here %d over %d partitions), freshness p99 %s, dead-lettered %d",
		m.RecordsCommitted, m.RecordsPerSecond, m.Commits, lag, unowned, len(m.UnownedLag), m.FreshnessP99.Round(time.Millisecond), m.DLQTotal)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// catalogEvolver adds a sink's new columns with catalog.AlterTable: ADD
// COLUMN IF NOT EXISTS, nullable, at the end, in one schema version.
type catalogEvolver struct {
	cat      *catalog.Catalog
	db, name string
}

func (e catalogEvolver) AddColumns(ctx context.Context, cols []stream.NewColumn) error {
	changes := make([]catalog.SchemaChange, len(cols))
	for i, c := range cols {
		changes[i] = catalog.SchemaChange{Kind: catalog.AddColumn, Column: c.Name, Type: c.Type, Comment: c.Comment, IfNotExists: true}
	}
	_, err := e.cat.AlterTable(ctx, e.db, e.name, changes)
	return err
}
