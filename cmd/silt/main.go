// Command silt is the command-line interface of the silt table store: SQL
// statements and a REPL, bulk loads, and the demo. It is thin wiring: every
// component (store, catalog, clock) is built here and passed explicitly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

const usage = `silt — a disaggregated table-state store

Usage:
  silt [global flags] <command> [flags] [args]

Commands:
  init [DIR|s3://…]    create a warehouse (every other command needs an existing one, except
                       demo, serve and SQL with a CREATE statement)
  sql [STMT; …]        run SQL statements; with -f FILE run a script; with nothing, a REPL
  load TABLE FILE      bulk-load a CSV or JSON-lines file into a table in one commit
  compact TABLE        compact a table's sorted runs (--full, --partition); --watch keeps compacting
  sink                 consume Kafka topics into tables, exactly once (flags or --config FILE)
  export TABLE         publish a table's changes between snapshots to a Kafka topic
  changes TABLE        print a table's row changes between snapshots (--from, --to, --follow)
  maintain [TABLE …]   run the lifecycle policies once: snapshot/partition expiry, tiering, orphan cleanup (--dry-run)
  lifecycle show TABLE print a table's effective lifecycle policy and what the next maintain would do
  rebuild SRC --to DST replay a table's history into a new table (--as-of, --merge-engine, --option k=v); resumable
  serve                run sinks, compaction and lifecycle policies in one process, with health,
                       Prometheus /metrics and a web console (--config silt.yaml; see "silt serve -h")
  demo                 stream a changelog into a local warehouse and show what silt keeps
  schema check T STMT  dry-run an ALTER TABLE under the table's schema.compatibility (OK or the violation)
  bench SCENARIO       whole-system benchmarks vs the store's limits and peers: store, ingest, lookup, scan, history, commit, all
  version              print the version

Global flags (also accepted after the command):
  --warehouse URI      warehouse: a local directory or s3://bucket/prefix (env SILT_WAREHOUSE)
  --format F           output format: table (default), csv, json, arrow; for sink and
                       export, the Kafka record format (debezium-json, upsert-json, json)
  --cache-dir DIR      local disk cache of immutable objects (data files, manifests, schemas),
                       one process at a time (env SILT_CACHE_DIR; unset: no cache)
  --cache-size SIZE    the disk cache's byte budget, e.g. 10gb (env SILT_CACHE_SIZE; default 1gb)
  --cold-uri URI       the warehouse's cold tier for tables without tier.cold.uri: a local directory
                       or s3://bucket/prefix (env SILT_COLD_URI); every reader of a tiered table needs it
  --iceberg            publish Iceberg metadata at every commit of tables that do not set
                       metadata.iceberg.enabled (env SILT_ICEBERG=true)

S3 settings come from the environment (never from flags):
  SILT_S3_ENDPOINT     host:port or http(s)://host:port of the S3 endpoint (default:
                       AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)
  SILT_S3_REGION       region (default us-east-1; AWS_REGION also works)
  SILT_S3_INSECURE     "true" to use plain HTTP (e.g. a local MinIO)
  SILT_S3_PATH_STYLE   "true" for path-style bucket addressing (default true with an endpoint)
  SILT_S3_REQUEST_TIMEOUT, SILT_S3_MIN_THROUGHPUT
                       each request must finish within TIMEOUT + size / THROUGHPUT (default 15s, 1mb)
  SILT_S3_MAX_ATTEMPTS attempts of one S3 operation before it fails (default 8)
  Credentials, first found wins: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
  the AWS_PROFILE profile of AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials; web identity
  (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE); the container or EC2 instance role

Run "silt <command> -h" for the flags of a command.
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// errUsage marks command-line mistakes (exit code 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// globals are the flags shared by every command.
type globals struct {
	warehouse string
	format    string
	// cacheDir and cacheSize configure the local disk cache and lookup
	// index (env SILT_CACHE_DIR, SILT_CACHE_SIZE); "" disables them.
	cacheDir  string
	cacheSize string
	// coldURI is the warehouse's default cold tier (env SILT_COLD_URI).
	coldURI string
	// iceberg publishes the Iceberg view of tables that do not set
	// metadata.iceberg.enabled (env SILT_ICEBERG=true).
	iceberg bool
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.warehouse, "warehouse", g.warehouse, "warehouse URI: local directory or s3://bucket/prefix (env SILT_WAREHOUSE)")
	fs.StringVar(&g.format, "format", g.format, "output format: table, csv, json, arrow; for sink and export, the Kafka record format")
	fs.StringVar(&g.cacheDir, "cache-dir", g.cacheDir, "local disk cache and lookup index directory; empty disables (env SILT_CACHE_DIR)")
	fs.StringVar(&g.cacheSize, "cache-size", g.cacheSize, "disk cache byte budget, e.g. 10gb (env SILT_CACHE_SIZE)")
	fs.StringVar(&g.coldURI, "cold-uri", g.coldURI, "default cold tier: local directory or s3://bucket/prefix (env SILT_COLD_URI)")
	fs.BoolVar(&g.iceberg, "iceberg", g.iceberg, "publish Iceberg metadata at every commit of tables that do not set metadata.iceberg.enabled (env SILT_ICEBERG)")
}

// app is one invocation's wiring.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	g              globals
	res            resources // disk cache and close hooks (cache.go)
	// waits tracks S3 operations in flight; the watcher (progress.go)
	// reports long waits, and writers their stalls, on stderr or through
	// logNotice when set (silt serve's logger).
	waits        *objstore.InFlight
	waitsWatched bool
	logNotice    func(msg string)
	// openedWarehouse is the warehouse opened (redacted), for errors.
	openedWarehouse string
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: &syncWriter{w: stderr}, getenv: getenv}
	defer a.closeAll()
	a.g = globals{warehouse: getenv("SILT_WAREHOUSE"), format: "table",
		cacheDir: getenv("SILT_CACHE_DIR"), cacheSize: firstNonEmpty(getenv("SILT_CACHE_SIZE"), "1gb"), coldURI: getenv("SILT_COLD_URI"),
		iceberg: envTrue(getenv("SILT_ICEBERG"))}
	fs := flag.NewFlagSet("silt", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line below
	a.g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "silt: usage: %s (run 'silt help')\n", flagError(err, fs))
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch rest[0] {
	case "sql":
		err = a.cmdSQL(ctx, rest[1:])
	case "load":
		err = a.cmdLoad(ctx, rest[1:])
	case "compact":
		err = a.cmdCompact(ctx, rest[1:])
	case "sink":
		err = a.cmdSink(ctx, rest[1:])
	case "export":
		err = a.cmdExport(ctx, rest[1:])
	case "demo":
		err = a.cmdDemo(ctx, rest[1:])
	case "init":
		err = a.cmdInit(ctx, rest[1:])
	case "schema":
		err = a.cmdSchema(ctx, rest[1:])
	case "bench":
		err = a.cmdBench(ctx, rest[1:])
	case "maintain":
		err = a.cmdMaintain(ctx, rest[1:])
	case "lifecycle":
		err = a.cmdLifecycle(ctx, rest[1:])
	case "changes":
		err = a.cmdChanges(ctx, rest[1:])
	case "rebuild":
		err = a.cmdRebuild(ctx, rest[1:])
	case "serve":
		err = a.cmdServe(ctx, rest[1:])
	case "version":
		fmt.Fprintln(stdout, "silt", version)
	case "help", "-h", "--help":
		if len(rest) > 1 {
			return a.help(ctx, rest[1])
		}
		fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("%w: unknown command %q%s (run 'silt help' for the list)", errUsage, rest[0], suggestCommand(rest[0]))
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		msg := oneLine(err)
		if w := a.openedWarehouse; w != "" && errors.Is(err, types.ErrNotFound) && !strings.Contains(msg, w) {
			msg += fmt.Sprintf(" (in warehouse %s)", w) // the right name in the wrong warehouse is a typo too
		}
		if errors.Is(err, errUsage) && !strings.Contains(msg, "help") {
			msg += fmt.Sprintf(" (run 'silt %s --help')", rest[0])
		}
		fmt.Fprintln(stderr, "silt:", msg)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// oneLine keeps an error message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}

// parseFlags parses a command's flags, accepting the global flags too, and
// allowing flags after positional arguments.
func (a *app) parseFlags(name string, args []string, setup func(fs *flag.FlagSet), help string) ([]string, error) {
	fs := flag.NewFlagSet("silt "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // a mistake is one line (run reports it); --help prints the help
	a.g.register(fs)
	if setup != nil {
		setup(fs)
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				a.commandHelp(name, help, fs)
				return nil, err
			}
			return nil, fmt.Errorf("%w: %s (run 'silt %s --help')", errUsage, flagError(err, fs), name)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return pos, nil
}

// envTrue reads a boolean environment variable of the global flags: only
// "true" (any case) is true.
func envTrue(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "true") }
