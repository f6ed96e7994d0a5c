package query

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/siltdb/silt/types"
)

// SHOW PARTITIONS t: one row per partition of t's latest snapshot, from
// the manifest's file entries alone (no data file is read).

type showPartitionsStmt struct {
	pos   position
	table tableName
}

func (s *showPartitionsStmt) stmtPos() position { return s.pos }
func (s *showPartitionsStmt) String() string    { return "SHOW PARTITIONS " + s.table.String() }

// showPartitionsColumns are the columns of SHOW PARTITIONS (the names of
// Paimon's $partitions table).
func showPartitionsColumns() []Column {
	return []Column{
		{"partition", types.TString},
		{"record_count", types.TBigInt},
		{"file_count", types.TBigInt},
		{"file_size_in_bytes", types.TBigInt},
		{"last_update_time", types.TTimestamp},
	}
}

func (e *Engine) showPartitions(ctx context.Context, s *showPartitionsStmt) (*Result, error) {
	r, err := e.resolveTable(ctx, s.table)
	if err != nil {
		return nil, err
	}
	if r.system != "" {
		return nil, errf(types.ErrInvalid, "SHOW PARTITIONS: %s is a system table", r)
	}
	if len(r.schema.PartitionKeys) == 0 {
		return nil, errf(types.ErrInvalid, "SHOW PARTITIONS: table %s is not partitioned (its files are listed by SELECT * FROM %s$files)", r, plainTableName(s.table))
	}
	_, files, err := r.t.Files(ctx, ScanSpec{})
	if err != nil {
		return nil, fmt.Errorf("listing the files of %s: %w", r, err)
	}
	type part struct {
		records, files, bytes, lastMs int64
	}
	parts := map[string]*part{}
	for _, f := range files {
		p := parts[f.Partition]
		if p == nil {
			p = &part{}
			parts[f.Partition] = p
		}
		p.records += f.RecordCount
		p.files++
		p.bytes += f.SizeBytes
		p.lastMs = max(p.lastMs, f.CreationUnixMs)
	}
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	slices.Sort(names)
	res := &Result{Columns: showPartitionsColumns(), Rows: make([]types.Row, 0, len(names))}
	for _, n := range names {
		p := parts[n]
		res.Rows = append(res.Rows, types.Row{n, p.records, p.files, p.bytes, types.Timestamp(p.lastMs * 1000)})
	}
	res.Message = "SHOW " + strconv.Itoa(len(res.Rows))
	return res, nil
}
