package table

import (
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestCheckOptions: the limits CREATE/ALTER TABLE enforce. A table stored
// with a value below a newer minimum still opens.
func TestCheckOptions(t *testing.T) {
	unpart := func(opts map[string]string) *types.Schema {
		s := partSchema(opts)
		s.PartitionKeys = nil
		return s
	}
	for _, tc := range []struct {
		s    *types.Schema
		want string // "" = valid
	}{
		{partSchema(map[string]string{OptTargetFileSize: "1kb", OptWriteBufferSize: "1kb"}), ""},
		{partSchema(map[string]string{OptTargetFileSize: "1b"}), `option target-file-size: "1b" is below the minimum 1kb`},
		{partSchema(map[string]string{OptWriteBufferSize: "1023"}), `option write-buffer-size: "1023" is below the minimum 1kb`},
		{partSchema(map[string]string{OptPartitionExpiration: "30d", OptTierPartitionAge: "7d"}), ""},
		{unpart(map[string]string{OptPartitionExpiration: "30d"}), "option partition.expiration-time needs a partitioned table"},
		{unpart(map[string]string{OptTierPartitionAge: "30d"}), "option tier.partition-age needs a partitioned table"},
		{partSchema(map[string]string{OptSnapshotTimeRetained: "0s"}), `option snapshot.time-retained: "0s" is below the minimum 1s`},
		{partSchema(map[string]string{OptSnapshotTimeRetained: "-3d"}), `option snapshot.time-retained: "-3d" is below the minimum 1s`},
		{partSchema(map[string]string{OptSnapshotTimeRetained: "100001d"}), `option snapshot.time-retained: "100001d" is above the maximum 100000d`},
		{partSchema(map[string]string{OptSnapshotTimeRetained: "1s"}), ""},
	} {
		err := CheckOptions(tc.s)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.s.Options, err)
		case tc.want != "" && (!errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v, want an ErrInvalid with %q", tc.s.Options, err, tc.want)
		}
	}
	if _, err := Open("db.t", objstore.NewMem(), "t/", partSchema(map[string]string{OptTargetFileSize: "1b"}), Env{}); err != nil {
		t.Errorf("a stored table with target-file-size 1b must still open: %v", err)
	}
	for k, want := range map[string]bool{OptBucket: true, OptTierMoveAfter: true, OptTagCreationDelay: true, OptNumLevels: true,
		"fields.qty.aggregate-function": true, "fields..aggregate-function": false, "nosuch": false, "bucket ": false} {
		if IsOption(k) != want {
			t.Errorf("IsOption(%q) = %v", k, !want)
		}
	}
}

// TestTagCreationDelayZero: tag.creation-delay allows no delay written as
// any zero duration, not just "0".
func TestTagCreationDelayZero(t *testing.T) {
	for _, v := range []string{"0", "0s", " 0m "} {
		o, err := ParseOptions(map[string]string{OptTagCreationDelay: v})
		if err != nil || o.History.TagDelay != 0 {
			t.Errorf("%q: %v, %v", v, o.History.TagDelay, err)
		}
	}
	if _, err := ParseOptions(map[string]string{OptTagCreationDelay: "500ms"}); err == nil || !strings.Contains(err.Error(), "below the minimum 1s") {
		t.Errorf("500ms: %v", err)
	}
}

// partSchema is a table partitioned by dt with the given options.
func partSchema(opts map[string]string) *types.Schema {
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "dt", Type: types.TString, NotNull: true},
			{ID: 1, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 2, Name: "v", Type: types.TString},
		},
		PrimaryKeys:    []string{"dt", "id"},
		PartitionKeys:  []string{"dt"},
		HighestFieldID: 2,
		Options:        map[string]string{OptWriteOnly: "true"},
	}
	for k, v := range opts {
		s.Options[k] = v
	}
	return s
}
