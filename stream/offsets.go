package stream

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// OffsetPropertyPrefix starts every snapshot property a sink writes.
const OffsetPropertyPrefix = "stream."

// OffsetKey is the snapshot property holding the next offset to apply of
// one (topic, partition) for a consumer group:
//
//	stream.<group, path-escaped>/<topic>/<partition>
//
// Kafka topic names cannot contain '/', and the escaped group cannot
// either, so distinct (group, topic, partition) never share a key.
func OffsetKey(group, topic string, partition int32) string {
	return OffsetPropertyPrefix + url.PathEscape(group) + "/" + topic + "/" + strconv.FormatInt(int64(partition), 10)
}

// TopicPartition names one Kafka partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string {
	return tp.Topic + "/" + strconv.FormatInt(int64(tp.Partition), 10)
}

// noOffset marks an offset the table does not hold.
const noOffset = -1

// StoredOffset returns the offset stored in a snapshot for (group, tp), or
// -1 when there is none (or no snapshot). A value that does not parse is
// corruption: the sink must not guess where to resume.
func StoredOffset(s *manifest.Snapshot, group string, tp TopicPartition) (int64, error) {
	if s == nil {
		return noOffset, nil
	}
	v, ok := s.Properties[OffsetKey(group, tp.Topic, tp.Partition)]
	if !ok || v == "" {
		return noOffset, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: snapshot %d: property %s = %q is not an offset", types.ErrCorruption, s.ID, OffsetKey(group, tp.Topic, tp.Partition), v)
	}
	return n, nil
}

// StoredOffsets returns every offset a snapshot stores for group, keyed by
// partition.
func StoredOffsets(s *manifest.Snapshot, group string) (map[TopicPartition]int64, error) {
	out := map[TopicPartition]int64{}
	if s == nil {
		return out, nil
	}
	prefix := OffsetPropertyPrefix + url.PathEscape(group) + "/"
	for k := range s.Properties {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		i := strings.LastIndexByte(rest, '/')
		if i <= 0 {
			continue
		}
		p, err := strconv.ParseInt(rest[i+1:], 10, 32)
		if err != nil || p < 0 {
			continue
		}
		tp := TopicPartition{Topic: rest[:i], Partition: int32(p)}
		n, err := StoredOffset(s, group, tp)
		if err != nil {
			return nil, err
		}
		if n >= 0 {
			out[tp] = n
		}
	}
	return out, nil
}

// span is what one batch consumed of one partition: the table held start
// (noOffset: nothing) when the batch began, its first record had offset
// origin, and next is the offset after its last record.
type span struct {
	start, origin, next int64
}

// batchPlan is the offset side of one commit.
type batchPlan struct {
	group string
	spans map[TopicPartition]span
}

// properties are the snapshot properties the commit sets.
func (b *batchPlan) properties() map[string]string {
	props := make(map[string]string, len(b.spans))
	for tp, s := range b.spans {
		props[OffsetKey(b.group, tp.Topic, tp.Partition)] = strconv.FormatInt(s.next, 10)
	}
	return props
}

func (b *batchPlan) sorted() []TopicPartition {
	tps := make([]TopicPartition, 0, len(b.spans))
	for tp := range b.spans {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	return tps
}

// identifier names the commit by its offsets: the group and, per
// partition, start, origin and next. The same identifier therefore always
// means the same records, so a commit found under it (a retry whose first
// attempt was published, possibly by a crashed process) holds exactly this
// batch's data.
func (b *batchPlan) identifier() string {
	h := sha256.New()
	fmt.Fprintf(h, "silt-stream-v1\x00%s\x00", b.group)
	for _, tp := range b.sorted() {
		s := b.spans[tp]
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\x00%d\x00", tp.Topic, tp.Partition, s.start, s.origin, s.next)
	}
	return "stream-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// check is the commit precondition: for every partition of the batch the
// parent snapshot must still hold the offset the batch started from. A
// mismatch means another process applied records of the partition since:
// this process is a zombie for it, and the commit is fenced. Partitions
// the batch did not consume are not compared, so sinks that own different
// partitions never fence each other.
func (b *batchPlan) check(parent *manifest.Snapshot) error {
	for _, tp := range b.sorted() {
		s := b.spans[tp]
		have, err := StoredOffset(parent, b.group, tp)
		if err != nil {
			return err
		}
		if have != s.start {
			return fmt.Errorf("%w: group %s, %s: the table's offset is %s but this batch started at %s: another sink took the partition over",
				types.ErrFenced, b.group, tp, fmtOffset(have), fmtOffset(s.start))
		}
	}
	return nil
}

func fmtOffset(o int64) string {
	if o == noOffset {
		return "none"
	}
	return strconv.FormatInt(o, 10)
}
