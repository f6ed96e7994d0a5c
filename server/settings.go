package server

import (
	"strings"
)

// Setting is one scalar setting of `silt serve`. Every setting has three
// forms with one spelling: the config file key (Key), the command-line
// flag --Key and the environment variable Env (SILT_ + Key in upper case
// with '-' as '_'). Precedence: flag, then environment, then config file,
// then Default.
type Setting struct {
	Key     string
	Default string
	Help    string
	// List settings take a YAML sequence in the file and a comma-separated
	// list in a flag or the environment.
	List bool
	// Global settings are flags of every silt command (cmd/silt registers
	// them); serve reads them from there.
	Global bool
	// EnvOnly settings have no flag: they configure the S3 client, whose
	// settings never come from flags (cmd/silt reads them from the
	// environment; serve also from the config file).
	EnvOnly bool
}

// Env is the setting's environment variable.
func (s Setting) Env() string {
	return "SILT_" + strings.ToUpper(strings.ReplaceAll(s.Key, "-", "_"))
}

// Settings returns every setting of `silt serve`, in documentation order.
// Keys of the config file that are not here (besides "sinks") are errors.
func Settings() []Setting {
	return []Setting{
		{Key: "warehouse", Global: true, Help: "warehouse URI: a local directory or s3://bucket/prefix"},
		{Key: "cache-dir", Global: true, Help: "local disk cache and lookup index directory; empty disables"},
		{Key: "cache-size", Global: true, Default: "1gb", Help: "disk cache byte budget, e.g. 10gb"},
		{Key: "cold-uri", Global: true, Help: "default cold tier: a local directory or s3://bucket/prefix"},
		{Key: "iceberg", Global: true, Default: "false", Help: "true: publish Iceberg metadata at every commit of tables that do not set metadata.iceberg.enabled"},
		{Key: "listen", Default: ":9090", Help: "HTTP address of /healthz, /readyz, /metrics, the console and the Iceberg REST catalog (/iceberg)"},
		{Key: "log-format", Default: "json", Help: "log format on stderr: json or text"},
		{Key: "log-level", Default: "info", Help: "lowest level logged: debug, info, warn or error"},
		{Key: "shutdown-timeout", Default: "30s", Help: "on SIGTERM: longest wait for in-flight commits before they are aborted"},
		{Key: "refresh-interval", Default: "15s", Help: "how often table state (buckets, snapshots, tiers) is re-read for metrics and the console"},
		{Key: "compact-interval", Default: "30s", Help: "pause between compaction rounds over the compacted tables; 0 disables compaction"},
		{Key: "compact-tables", List: true, Help: "tables this process compacts, DB.T[,…]; * for all; default: the sinks' tables"},
		{Key: "maintain-interval", Default: "1h", Help: "pause between runs of the lifecycle policies over the maintained tables; 0 disables them"},
		{Key: "maintain-tables", List: true, Help: "tables whose lifecycle policies this process runs, DB.T[,…]; * for all; default: compact-tables"},
		{Key: "s3-endpoint", EnvOnly: true, Help: "S3 endpoint: host:port or http(s)://host:port (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)"},
		{Key: "s3-region", EnvOnly: true, Help: "S3 region (default us-east-1; AWS_REGION also works)"},
		{Key: "s3-insecure", EnvOnly: true, Help: "true: plain HTTP to the S3 endpoint"},
		{Key: "s3-path-style", EnvOnly: true, Help: "true: path-style bucket addressing (default true with an endpoint)"},
		{Key: "s3-create-bucket", EnvOnly: true, Help: "true: create a missing warehouse bucket"},
		{Key: "s3-request-timeout", EnvOnly: true, Default: "15s", Help: "time budget of one S3 request, plus its size / s3-min-throughput"},
		{Key: "s3-min-throughput", EnvOnly: true, Default: "1mb", Help: "the slowest transfer (bytes per second) a request's budget allows for"},
		{Key: "s3-max-attempts", EnvOnly: true, Default: "8", Help: "attempts of one S3 operation before it fails (1..100)"},
		{Key: "s3-sse", EnvOnly: true, Help: "encrypt every object silt writes: s3 (SSE-S3, AES256) or kms (SSE-KMS); default: the bucket's default"},
		{Key: "s3-sse-kms-key-id", EnvOnly: true, Help: "the KMS key of s3-sse kms (default: the service's default KMS key)"},
		{Key: "s3-sse-kms-context", EnvOnly: true, Help: `the SSE-KMS encryption context, a JSON object of strings, e.g. {"team":"data"}`},
		{Key: "cold-s3-endpoint", EnvOnly: true, Help: "the cold tier's S3 endpoint, host:port or http(s)://host:port (default: s3-endpoint); its keys: SILT_COLD_AWS_ACCESS_KEY_ID and SILT_COLD_AWS_SECRET_ACCESS_KEY, or SILT_COLD_AWS_PROFILE"},
	}
}

// SettingByKey returns the setting with the key.
func SettingByKey(key string) (Setting, bool) {
	for _, s := range Settings() {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// sinksKey is the config file key of the sink list (stream.SinkConfig).
const sinksKey = "sinks"
