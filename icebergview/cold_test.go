package icebergview

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
)

// TestColdLocation: cold files are named under the cold tier's own
// location when a reader of the view can reach it with the warehouse's
// kind of store, and not otherwise.
func TestColdLocation(t *testing.T) {
	dir := t.TempDir()
	store, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	cold := filepath.Join(t.TempDir(), "cold dir")
	for _, c := range []struct {
		base, coldURI, class string
		want                 string // "" = errColdTier
	}{
		{S3Base("wh", "pre"), "s3://archive/old/", "", "s3://archive/old/db/t/"},
		{S3Base("wh", ""), "s3://archive", "STANDARD_IA", "s3://archive/db/t/"},
		{S3Base("wh", ""), "s3://archive", "GLACIER", ""},
		{S3Base("wh", ""), "s3://archive", "DEEP_ARCHIVE", ""},
		{S3Base("wh", ""), cold, "", ""},
		{LocalBase(dir), cold, "", LocalBase(cold) + "db/t/"},
		{LocalBase(dir), "s3://archive", "", ""},
		{LocalBase(dir), "", "", ""},
	} {
		s := allTypesSchema("deduplicate")
		for i := range s.Fields {
			s.Fields[i].ID = i
		}
		s.HighestFieldID = len(s.Fields) - 1
		if c.class != "" {
			s.Options[table.OptTierColdStorageClass] = c.class
		}
		tbl, err := table.Open("db.t", store, testRoot, s, table.Env{ColdURI: c.coldURI})
		if err != nil {
			t.Fatal(err)
		}
		p := &Publisher{Base: c.base}
		got, err := p.coldLocation(tbl)
		switch {
		case c.want == "" && !errors.Is(err, errColdTier):
			t.Errorf("base %s, cold %q (%s): got %q, %v; want errColdTier", c.base, c.coldURI, c.class, got, err)
		case c.want != "" && (err != nil || got != c.want):
			t.Errorf("base %s, cold %q (%s): got %q, %v; want %q", c.base, c.coldURI, c.class, got, err, c.want)
		}
	}
}
