package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"go.yaml.in/yaml/v3"
)

// Config is a sinks config file: several sinks run by one process.
//
//	warehouse: s3://bucket/wh        # optional; --warehouse / SILT_WAREHOUSE win
//	sinks:
//	  - name: orders                 # optional, default the table
//	    brokers: [kafka-1:9092]
//	    topics: [shop.orders]
//	    table: shop.orders
//	    format: debezium-json        # debezium-json | upsert-json | json
//	    group: silt-orders
//	    commit-interval: 10s
//	    dlq-topic: shop.orders.dlq
//	    unknown-fields: ignore       # or reject
//	    schema-evolution: none       # or add-columns (debezium-json)
//	    memory-budget: 256mb
//	    session-timeout: 10s         # a dead member's partitions move after this
//	    static-membership: false     # true: the member name is the group instance id
//
// JSON with the same keys works too. Unknown keys are errors.
type Config struct {
	Warehouse string       `json:"warehouse,omitempty" yaml:"warehouse"`
	Sinks     []SinkConfig `json:"sinks" yaml:"sinks"`
}

// SinkConfig is one sink, from a config file or the sink command's flags.
// Empty fields take the defaults of Options.
type SinkConfig struct {
	Name           string   `json:"name,omitempty" yaml:"name"`
	Brokers        []string `json:"brokers" yaml:"brokers"`
	Topics         []string `json:"topics" yaml:"topics"`
	Table          string   `json:"table" yaml:"table"`
	Format         string   `json:"format" yaml:"format"`
	Group          string   `json:"group" yaml:"group"`
	Member         string   `json:"member,omitempty" yaml:"member"`
	CommitInterval string   `json:"commit-interval,omitempty" yaml:"commit-interval"`
	DLQTopic       string   `json:"dlq-topic,omitempty" yaml:"dlq-topic"`
	UnknownFields  string   `json:"unknown-fields,omitempty" yaml:"unknown-fields"`
	TimestampUnit  string   `json:"timestamp-unit,omitempty" yaml:"timestamp-unit"`
	MemoryBudget   string   `json:"memory-budget,omitempty" yaml:"memory-budget"`
	StallThreshold string   `json:"stall-threshold,omitempty" yaml:"stall-threshold"`
	StartOffset    string   `json:"start-offset,omitempty" yaml:"start-offset"`
	// SchemaEvolution is none (default) or add-columns (debezium-json
	// only; the sink then needs an Evolver, see Options).
	SchemaEvolution string `json:"schema-evolution,omitempty" yaml:"schema-evolution"`
	// KafkaSecurity (sasl-*, tls-* keys) authenticates to the brokers;
	// the SILT_KAFKA_* environment variables override it (WithEnv).
	KafkaSecurity `yaml:",inline"`
	// KafkaGroup (session-timeout, static-membership) tunes the consumer
	// group; SILT_KAFKA_SESSION_TIMEOUT and SILT_KAFKA_STATIC_MEMBERSHIP
	// override it (WithEnv).
	KafkaGroup `yaml:",inline"`
}

// maxConfigBytes bounds a config file.
const maxConfigBytes = 4 << 20

// ParseConfig parses a config file; name (its path) chooses YAML (.yaml,
// .yml) or JSON (.json); other names are JSON when the text starts with
// '{', else YAML. The result is validated.
func ParseConfig(name string, data []byte) (*Config, error) {
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("%w: config %s: larger than %d bytes", types.ErrInvalid, name, maxConfigBytes)
	}
	var c Config
	ext := strings.ToLower(filepath.Ext(name))
	isJSON := ext == ".json" || (ext != ".yaml" && ext != ".yml" && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")))
	if isJSON {
		if err := checkJSONKeys(name, data); err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("%w: config %s: %v", types.ErrInvalid, name, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%w: config %s: text after the JSON object", types.ErrInvalid, name)
		}
	} else {
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("%w: config %s: %s", types.ErrInvalid, name, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if err := checkYAMLKeys(name, &doc); err != nil {
			return nil, err
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: config %s: %s", types.ErrInvalid, name, oneLineYAML(err))
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return &c, nil
}

// Validate checks every sink and that no two sinks would commit as the
// same user to the same table.
func (c *Config) Validate() error {
	if len(c.Sinks) == 0 {
		return fmt.Errorf("%w: no sinks", types.ErrInvalid)
	}
	names := map[string]bool{}
	users := map[string]bool{}
	for i := range c.Sinks {
		s := &c.Sinks[i]
		if err := s.Validate(); err != nil {
			return fmt.Errorf("sink %d (%s): %w", i+1, s.DisplayName(), err)
		}
		if names[s.DisplayName()] {
			return fmt.Errorf("%w: two sinks are named %q", types.ErrInvalid, s.DisplayName())
		}
		names[s.DisplayName()] = true
		u := s.Table + "\x00" + s.Group + "\x00" + s.Member
		if users[u] {
			return fmt.Errorf("%w: two sinks write %s as group %q with the same member: give them different groups or members", types.ErrInvalid, s.Table, s.Group)
		}
		users[u] = true
	}
	return nil
}

// DisplayName is the sink's name, or its table.
func (s *SinkConfig) DisplayName() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Table
}

// TableName splits the table into database and table ("t" alone is in
// the default database).
func (s *SinkConfig) TableName() (string, string, error) {
	db, t, ok := strings.Cut(s.Table, ".")
	if !ok {
		db, t = "default", s.Table
	}
	if err := types.ValidateIdentifier("database", db); err != nil {
		return "", "", fmt.Errorf("table %q: %w", s.Table, err)
	}
	if err := types.ValidateIdentifier("table", t); err != nil {
		return "", "", fmt.Errorf("table %q: %w", s.Table, err)
	}
	return db, t, nil
}

// Validate checks what can be checked without the table.
func (s *SinkConfig) Validate() error {
	if s.Table == "" {
		return fmt.Errorf("%w: no table", types.ErrInvalid)
	}
	if _, _, err := s.TableName(); err != nil {
		return err
	}
	if _, ok := Formats()[s.Format]; !ok {
		return fmt.Errorf("%w: format %q (want %s)", types.ErrInvalid, s.Format, strings.Join(FormatNames(), ", "))
	}
	fo, err := s.formatOptions().Normalize()
	if err != nil {
		return err
	}
	if fo.SchemaEvolution == EvolutionAddColumns && s.Format != "debezium-json" {
		return fmt.Errorf("%w: schema-evolution add-columns needs format debezium-json (with the schema envelope), not %s", types.ErrInvalid, s.Format)
	}
	if err := s.KafkaSecurity.Validate(); err != nil {
		return err
	}
	if err := s.KafkaGroup.Validate(); err != nil {
		return err
	}
	o, err := s.baseOptions()
	if err != nil {
		return err
	}
	o.Format = placeholderFormat{}
	o = o.EnsureDefaults()
	return o.Validate()
}

func (s *SinkConfig) formatOptions() FormatOptions {
	return FormatOptions{UnknownFields: s.UnknownFields, TimestampUnit: s.TimestampUnit, SchemaEvolution: s.SchemaEvolution}
}

// AddsColumns reports whether the sink evolves its table
// (schema-evolution add-columns): the caller must then set
// Options.Evolver.
func (s *SinkConfig) AddsColumns() bool { return s.SchemaEvolution == EvolutionAddColumns }

// placeholderFormat stands in for the real format in Validate.
type placeholderFormat struct{}

func (placeholderFormat) Decode(dst []Change, _, _ []byte) ([]Change, error) { return dst, nil }

func (s *SinkConfig) baseOptions() (Options, error) {
	o := Options{
		Brokers: s.Brokers, Topics: s.Topics, Group: s.Group, Member: s.Member,
		DLQTopic: s.DLQTopic, StartOffset: s.StartOffset, Security: s.KafkaSecurity,
	}
	var err error
	if o.CommitInterval, err = parseDuration("commit-interval", s.CommitInterval); err != nil {
		return o, err
	}
	if o.StallThreshold, err = parseDuration("stall-threshold", s.StallThreshold); err != nil {
		return o, err
	}
	if s.MemoryBudget != "" {
		if o.MemoryBudget, err = table.ParseSize("memory-budget", s.MemoryBudget); err != nil {
			return o, err
		}
	}
	// The group settings go in as client options; a static member's
	// instance id is its member name, so the default is settled here.
	if o.Member == "" {
		o.Member = defaultMember()
	}
	if o.ClientOpts, err = s.KafkaGroup.clientOpts(o.Member); err != nil {
		return o, err
	}
	return o, nil
}

func parseDuration(what, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: %s %q is not a positive duration (e.g. 10s, 500ms)", types.ErrInvalid, what, v)
	}
	return d, nil
}

// Options builds the sink options for a table with schema (the format
// follows the schema's types). Defaults fill what the config leaves out.
func (s *SinkConfig) Options(schema *types.Schema) (Options, error) {
	if err := s.Validate(); err != nil {
		return Options{}, err
	}
	o, err := s.baseOptions()
	if err != nil {
		return Options{}, err
	}
	o.Format, err = NewFormat(s.Format, schema, s.formatOptions())
	if err != nil {
		return Options{}, err
	}
	return o, nil
}
