// Package stream moves changelogs between Kafka and silt tables: the sink
// (Kafka topics into a table, exactly once), its record formats, and the
// changelog export (a table's changes between snapshots into a topic).
// It uses table and franz-go; only cmd/silt imports it.
//
// Vocabulary: a sink consumes topics as one member of a consumer group and
// applies records to one table in batches; a batch becomes visible with one
// commit (one snapshot); a span is what a batch consumed of one partition.
//
// Exactly once (docs/adr/0006): every commit stores, in the snapshot's
// properties, the next offset of each partition its batch consumed
// (OffsetKey). Assigned partitions start from the latest snapshot's offsets
// — Kafka's committed offsets are only written, for monitoring. A commit's
// precondition requires that the table still holds the offset each of its
// spans started from, so a zombie (a process that lost its partitions and
// does not know it yet) is fenced with types.ErrFenced, while sinks owning
// different partitions never fence each other. Commit identifiers are
// derived from the offsets, so a commit found under the same identifier
// holds the same records. Any failed batch is dropped and replayed from the
// table's offsets; nothing is applied twice because nothing is applied
// except through a commit that passed the precondition.
//
// Files:
//
//	format.go           Format (decoder interface), FormatOptions, bad-record reasons
//	format_json.go      JSON → row conversion by column type; json and upsert-json
//	format_debezium.go  debezium-json, with and without the schema envelope
//	format_scan.go      the one-pass JSON scanner the formats walk records with
//	format_batch.go     change-batch builders: typed scratch cells → Arrow builders
//	format_batch_json.go the JSON formats' fast path into change batches
//	evolve.go           schema evolution: Connect types → columns, adding them, following ALTERs
//	encode.go           Encoder: debezium-json and upsert-json output for the export
//	offsets.go          offset properties, batch plans, commit identifiers, the fencing check
//	sink.go             Options, Sink, Run's poll loop
//	sink_decode.go      decoding a poll into change batches, chunk by chunk; pending runs
//	sink_batch.go       applying, committing and replaying batches
//	sink_group.go       rebalance callbacks, backpressure, the dead-letter topic
//	metrics.go          Metrics and a duration histogram
//	config.go           the sinks config file (YAML or JSON)
//	diff.go             Diff: the changed keys between two snapshots, bucket by bucket
//	export.go           Exporter: publishing diffs with a stored position
//	kafka.go            small Kafka admin helpers
package stream
