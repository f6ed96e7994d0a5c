package table

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestColdURIRules: a tier.cold.uri being set must be s3://bucket[/prefix]
// or an absolute directory without credentials; one stored before these
// rules still opens (so that ALTER TABLE can fix it), is shown redacted,
// and is refused when the tier is used.
func TestColdURIRules(t *testing.T) {
	const secret = "hunter2-secret"
	for uri, want := range map[string]string{
		"s3://AKIA:" + secret + "@bucket/c": "credentials",
		"s3://bucket/c?token=" + secret:     "credentials",
		"s3://":                             "no bucket",
		"../../x":                           "relative",
		"s3://bucket/c?storage-class=X":     "storage class",
	} {
		err := CheckNewOptions(nil, map[string]string{OptTierColdURI: uri})
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), secret) {
			t.Errorf("CheckNewOptions(tier.cold.uri=%q): %v; want types.ErrInvalid saying %q without the secret", uri, err, want)
		}
	}
	for _, uri := range []string{"s3://bucket/cold", "/abs/cold"} {
		if err := CheckNewOptions(nil, map[string]string{OptTierColdURI: uri}); err != nil {
			t.Errorf("CheckNewOptions(tier.cold.uri=%q): %v", uri, err)
		}
	}
	// Unchanged legacy values pass an ALTER of other options.
	legacy := map[string]string{OptTierColdURI: "s3://AKIA:" + secret + "@bucket/c"}
	if err := CheckNewOptions(legacy, map[string]string{OptTierColdURI: legacy[OptTierColdURI], OptBucket: "2"}); err != nil {
		t.Errorf("an unchanged legacy value: %v", err)
	}

	s := &types.Schema{Fields: []types.Field{{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true}}, PrimaryKeys: []string{"id"}, Options: legacy}
	opened := false
	tbl, err := Open("db.t", objstore.NewMem(), "db/t/", s, Env{OpenStore: func(context.Context, string) (objstore.Store, error) {
		opened = true
		return objstore.NewMem(), nil
	}})
	if err != nil {
		t.Fatalf("a legacy schema no longer opens: %v", err)
	}
	if got := tbl.ColdURI(); strings.Contains(got, secret) {
		t.Fatalf("ColdURI() = %q shows the secret", got)
	}
	_, err = tbl.coldStore(t.Context())
	if err == nil || opened || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "ALTER TABLE") {
		t.Fatalf("cold store of a legacy URI with credentials: %v (opened %v); want a refusal saying how to fix it", err, opened)
	}
}
