package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/server"
	"github.com/siltdb/silt/stream"
)

const serveHelp = `[--config silt.yaml] [flags]

Runs the configured sinks, compaction of the tables it owns and their
lifecycle policies on a schedule, in one process, with /healthz, /readyz,
Prometheus /metrics, a read-only web console and a read-only Iceberg
REST catalog (URI http://HOST:PORT/iceberg) on --listen. Every flag
has a config file key of the same name and an environment variable
SILT_<KEY> (e.g. --shutdown-timeout, shutdown-timeout:,
SILT_SHUTDOWN_TIMEOUT); flags win over the environment, which wins over
the file. The sinks are configured in the file (the sinks: list of
"silt sink --config"). SIGTERM/SIGINT: readiness turns off, the sinks
stop fetching and commit what they consumed, and whatever is still in
flight after --shutdown-timeout is aborted (a restart resumes from the
table, never applying anything twice).`

// configEnv names the config file when --config is not given.
const configEnv = "SILT_CONFIG"

// setFlag is a string flag that remembers whether it was given.
type setFlag struct {
	v   string
	set bool
}

func (f *setFlag) String() string     { return f.v }
func (f *setFlag) Set(s string) error { f.v, f.set = s, true; return nil }

func (a *app) cmdServe(ctx context.Context, args []string) error {
	started := time.Now()
	configPath := a.getenv(configEnv)
	flags := map[string]*setFlag{}
	var parsed *flag.FlagSet
	pos, err := a.parseFlags("serve", args, func(fs *flag.FlagSet) {
		parsed = fs
		// The global --format shapes query results; serve prints none.
		if f := fs.Lookup("format"); f != nil {
			f.Usage = "not accepted by serve: it prints no results (its logs: --log-format)"
		}
		fs.StringVar(&configPath, "config", configPath, "YAML config file (env "+configEnv+")")
		for _, s := range server.Settings() {
			if s.Global || s.EnvOnly {
				continue
			}
			f := &setFlag{}
			flags[s.Key] = f
			help := s.Help + " (env " + s.Env() + ", config key " + s.Key
			if s.Default != "" {
				help += ", default " + s.Default
			}
			fs.Var(f, s.Key, help+")")
		}
	}, serveHelp)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: serve takes no arguments (got %q)", errUsage, pos[0])
	}
	formatSet := a.g.format != "table" // given before the command
	parsed.Visit(func(f *flag.Flag) { formatSet = formatSet || f.Name == "format" })
	if formatSet {
		return fmt.Errorf("%w: serve does not take --format: it prints no results; its log format is --log-format (json or text)", errUsage)
	}
	src := server.Sources{Env: a.getenv, Flags: map[string]string{}}
	for k, f := range flags {
		if f.set {
			src.Flags[k] = f.v
		}
	}
	// Global flags given on the command line (not just taken from the
	// environment) override the file too.
	for _, g := range []struct {
		key, v, base string
	}{
		{"warehouse", a.g.warehouse, a.getenv("SILT_WAREHOUSE")},
		{"cache-dir", a.g.cacheDir, a.getenv("SILT_CACHE_DIR")},
		{"cache-size", a.g.cacheSize, firstNonEmpty(a.getenv("SILT_CACHE_SIZE"), "1gb")},
		{"cold-uri", a.g.coldURI, a.getenv("SILT_COLD_URI")},
		{"iceberg", strconv.FormatBool(a.g.iceberg), strconv.FormatBool(envTrue(a.getenv("SILT_ICEBERG")))},
	} {
		if g.v != g.base {
			src.Flags[g.key] = g.v
		}
	}
	if configPath != "" {
		if src.Data, err = os.ReadFile(configPath); err != nil {
			return fmt.Errorf("%w: config: %w", errUsage, err)
		}
		src.File = configPath
	}
	cfg, err := server.Load(src)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if cfg.Warehouse == "" {
		return fmt.Errorf("%w: no warehouse: set warehouse: in the config, --warehouse or SILT_WAREHOUSE", errUsage)
	}
	a.g.warehouse, a.g.cacheDir, a.g.cacheSize, a.g.coldURI = cfg.Warehouse, cfg.CacheDir, cfg.CacheSize, cfg.ColdURI
	a.g.iceberg = cfg.Iceberg
	env := a.getenv
	a.getenv = func(k string) string { // S3 settings from the file fill in the environment's gaps
		if v := env(k); v != "" {
			return v
		}
		return cfg.S3[k]
	}
	log := server.NewLogger(a.stderr, cfg)
	log.Info("starting", "version", version, "config", configPath, "warehouse", objstore.RedactURI(cfg.Warehouse), "sinks", len(cfg.Sinks))
	a.logNotice = func(msg string) { log.Warn(msg) } // stderr is the log: notices go through it
	cat, err := a.createWarehouse(ctx)
	if err != nil {
		return err
	}
	runners, names, err := openSinks(ctx, cat, cfg.Sinks, a.getenv, func(label string) func(string, ...any) {
		l := log.With("sink", label)
		return func(format string, args ...any) { l.Info(fmt.Sprintf(format, args...)) }
	})
	if err != nil {
		return err
	}
	sinks := make([]server.Sink, len(runners))
	for i, r := range runners {
		sinks[i] = server.Sink{Name: names[i], Table: qualifiedSinkTable(cfg.Sinks[i]), Topics: cfg.Sinks[i].Topics, Runner: r}
	}
	hints, err := a.icebergHints(cfg.Warehouse)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{Config: cfg, Catalog: cat, Sinks: sinks, Logger: log, Started: started,
		Version: version, CacheStats: a.diskCacheStats, LookupIndexStats: a.lookupIndexStats, IcebergClientConfig: hints})
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// icebergHints are the Iceberg catalog's client hints for a warehouse on
// S3 (none for a local one): its endpoint, addressing and region, never
// its credentials.
func (a *app) icebergHints(warehouse string) (map[string]string, error) {
	if !strings.HasPrefix(warehouse, "s3://") {
		return nil, nil
	}
	cfg, err := objstore.ParseS3URI(warehouse)
	if err != nil {
		return nil, err
	}
	if err := a.s3Settings(&cfg); err != nil {
		return nil, err
	}
	return server.IcebergS3Hints(cfg), nil
}

func qualifiedSinkTable(sc stream.SinkConfig) string {
	db, t, err := sc.TableName()
	if err != nil { // validated by Load
		return sc.Table
	}
	return db + "." + t
}
