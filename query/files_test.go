package query

import (
	"context"
	"errors"
	"testing"

	"github.com/siltdb/silt/types"
)

// TestFilesSystemTable: t$files lists the live data files at the latest
// snapshot or at one chosen by VERSION AS OF / TIMESTAMP AS OF.
func TestFilesSystemTable(t *testing.T) {
	e, _ := newTestEngine(t)
	mustExec(t, e, `
		CREATE TABLE t (id INT PRIMARY KEY, v STRING);
		INSERT INTO t VALUES (1, 'a'), (2, 'b');
		INSERT INTO t VALUES (3, 'c');`)
	tests := []struct{ sql, want string }{
		{"SELECT level, file_path, record_count, min_key, max_key FROM t$files",
			"0|data/bucket-0/data-1.parquet|2|[1]|[9]\n0|data/bucket-0/data-2.parquet|1|[1]|[9]\n"},
		{"SELECT COUNT(*), SUM(file_size_in_bytes) FROM t$files VERSION AS OF 1", "1|200\n"},
		{"SELECT partition, bucket, min_sequence, max_sequence, schema_id FROM default.t$files f WHERE f.record_count = 1", "|0|2|2|0\n"},
	}
	for _, tt := range tests {
		if got := query(t, e, tt.sql); got != tt.want {
			t.Errorf("%s:\n got\n%s want\n%s", tt.sql, got, tt.want)
		}
	}
	if got := colsText(mustExec(t, e, "SELECT * FROM t$files")[0]); got != "partition STRING, bucket INT, level INT, file_path STRING, record_count BIGINT, file_size_in_bytes BIGINT, min_key STRING, max_key STRING, min_sequence BIGINT, max_sequence BIGINT, schema_id BIGINT, creation_time TIMESTAMP, tier STRING" {
		t.Errorf("$files columns: %s", got)
	}
	for sql, want := range map[string]error{
		"SELECT * FROM t$files VERSION AS OF 9": types.ErrNotFound,
		"INSERT INTO t$files VALUES (1)":        types.ErrInvalid,
	} {
		if _, err := e.Exec(context.Background(), sql); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", sql, err, want)
		}
	}
}
