package table

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/siltdb/silt/types"
)

// partitionPath renders the canonical partition path of a row:
// "col=value/col2=value" with values path-escaped, "" when unpartitioned.
// It is stored in manifests and used as the data-file folder.
func (t *Table) partitionPath(r types.Row) string {
	if len(t.partIdx) == 0 {
		return ""
	}
	var b strings.Builder
	for i, idx := range t.partIdx {
		if i > 0 {
			b.WriteByte('/')
		}
		f := t.schema.Fields[idx]
		b.WriteString(f.Name)
		b.WriteByte('=')
		b.WriteString(url.PathEscape(types.FormatValue(r[idx], f.Type)))
	}
	return b.String()
}

// partitionMatches reports whether a partition path agrees with equality
// filters on partition columns (column position → value).
func (t *Table) partitionMatches(path string, equals map[int]types.Value) bool {
	if len(t.partIdx) == 0 || len(equals) == 0 {
		return true
	}
	segs := strings.Split(path, "/")
	if len(segs) != len(t.partIdx) {
		return true // not ours to judge; read it
	}
	for i, idx := range t.partIdx {
		v, ok := equals[idx]
		if !ok {
			continue
		}
		f := t.schema.Fields[idx]
		want := f.Name + "=" + url.PathEscape(types.FormatValue(v, f.Type))
		if segs[i] != want {
			return false
		}
	}
	return true
}

// bucketOf returns the bucket of a row.
func (t *Table) bucketOf(r types.Row) (int, error) {
	if t.opts.Buckets <= 1 {
		return 0, nil
	}
	enc, err := types.EncodeRowKey(nil, r, t.bucketIdx)
	if err != nil {
		return 0, err
	}
	return types.Bucket(enc, t.opts.Buckets), nil
}

// dataFileKey returns the path, relative to the table root, of a new data file.
func (t *Table) dataFilePath(partition string, bucket int) string {
	if partition == "" {
		return fmt.Sprintf("data/bucket-%d/data-%s.parquet", bucket, t.env.NewID())
	}
	return fmt.Sprintf("data/%s/bucket-%d/data-%s.parquet", partition, bucket, t.env.NewID())
}
