package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

func TestCheckLocation(t *testing.T) {
	for _, tc := range []struct{ uri, want string }{
		{"s3:/bucket", "did you mean s3://bucket?"},
		{"s3:/bucket/pre/fix", "did you mean s3://bucket/pre/fix?"},
		{"s3:bucket", "did you mean s3://bucket?"},
		{"S3://bucket", "did you mean s3://bucket?"},
		{"s3a://bucket/p", "did you mean s3://bucket/p?"},
		{"s3//bucket", "did you mean s3://bucket?"},
		{"s3:", "write s3://bucket/prefix"},
		{"gs://bucket", `unsupported scheme "gs"`},
		{"file:/tmp/wh", `unsupported scheme "file"`},
	} {
		err := checkLocation("warehouse", tc.uri)
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("checkLocation(%q) = %v, want ErrInvalid with %q", tc.uri, err, tc.want)
		}
	}
	for _, ok := range []string{"", "s3://bucket", "./wh", "wh", "/tmp/wh", "C:/wh", `C:\wh`, "a:b", "s3", "s3x/y", "my:dir"} {
		if err := checkLocation("warehouse", ok); err != nil {
			t.Errorf("checkLocation(%q) = %v, want nil", ok, err)
		}
	}
}

// FuzzCheckLocation: never panics, and an accepted location that starts
// like an s3 URI is a well-formed one.
func FuzzCheckLocation(f *testing.F) {
	for _, s := range []string{"s3:/b", "s3://b/p", "S3:b", "./wh", "gs://x", "s3//b", "x:/", "s3a:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		err := checkLocation("warehouse", uri)
		if err == nil && strings.HasPrefix(strings.ToLower(uri), "s3:") && !strings.HasPrefix(uri, "s3://") {
			t.Fatalf("accepted %q", uri)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n") {
			t.Fatalf("multi-line error for %q: %v", uri, err)
		}
	})
}
