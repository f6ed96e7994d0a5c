package main

import (
	"fmt"
	"strings"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// checkLocation rejects a warehouse or cold-tier location ("what" names
// which) that is a mistyped URI rather than a local path, before anything
// is opened: "s3:/bucket" would otherwise become the directory s3:/bucket.
// It names the URI meant when it can tell ("s3:/b", "S3://b", "s3a://b"
// and "s3//b" mean s3://b).
func checkLocation(what, uri string) error {
	if strings.HasPrefix(uri, "s3://") || uri == "" {
		return nil
	}
	shown := objstore.RedactURI(uri)
	scheme, rest, hasColon := strings.Cut(uri, ":")
	lower := strings.ToLower(scheme)
	if !hasColon && strings.HasPrefix(strings.ToLower(uri), "s3//") {
		lower, rest = "s3", strings.TrimPrefix(uri[2:], "/")
	} else if !hasColon || !isScheme(scheme) {
		return nil // a local path (a one-letter "scheme" is a Windows drive)
	}
	switch lower {
	case "s3", "s3a", "s3n":
		bucket := strings.TrimLeft(rest, "/")
		if bucket == "" {
			return fmt.Errorf("%w: %s %q is not an s3 URI: write s3://bucket/prefix", types.ErrInvalid, what, shown)
		}
		return fmt.Errorf("%w: %s %q is not an s3 URI: did you mean %s?", types.ErrInvalid, what, shown, objstore.RedactURI("s3://"+bucket))
	}
	if strings.HasPrefix(rest, "//") || strings.HasPrefix(rest, "/") {
		return fmt.Errorf("%w: %s %q: unsupported scheme %q (use a local path or s3://bucket/prefix)", types.ErrInvalid, what, shown, scheme)
	}
	return nil
}

// isScheme reports whether s has the form of a URI scheme of two or more
// characters: a letter, then letters, digits, '+', '-' or '.'.
func isScheme(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}
