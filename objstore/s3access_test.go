package objstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
)

// TestS3AccessDenied: a store on credentials of their own
// (S3Config.Credentials) holding a read-only policy reads, and every
// write fails with ErrAccessDenied: definite, not ambiguous, not retried.
func TestS3AccessDenied(t *testing.T) {
	ctx := context.Background()
	base := s3test.NewStore(t)
	if _, err := base.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	keys := s3test.AssumeRole(t, s3test.ReadOnlyPolicy(base.Config().Bucket))
	cfg := base.Config()
	cfg.Credentials = objstore.StaticCredentials("test keys", keys.AccessKey, keys.SecretKey, keys.SessionToken)
	ro, err := objstore.NewS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s := ro.String(); !strings.Contains(s, "credentials from test keys") || strings.Contains(s, keys.SecretKey) {
		t.Errorf("String() = %q", s)
	}
	if b, _, err := ro.Get(ctx, "k"); err != nil || string(b) != "v" {
		t.Fatalf("read-only get: %q %v", b, err)
	}
	if objs, err := ro.List(ctx, ""); err != nil || len(objs) != 1 {
		t.Fatalf("read-only list: %v %v", objs, err)
	}
	for name, write := range map[string]func() error{
		"put":           func() error { _, err := ro.Put(ctx, "w", []byte("x")); return err },
		"put-if-absent": func() error { _, err := ro.PutIfAbsent(ctx, "w", []byte("x")); return err },
		"put-if-match":  func() error { _, err := ro.PutIfMatch(ctx, "k", []byte("x"), "etag"); return err },
		"delete":        func() error { return ro.Delete(ctx, "k") },
	} {
		err := write()
		if !errors.Is(err, objstore.ErrAccessDenied) || errors.Is(err, objstore.ErrAmbiguous) || objstore.IsRetryable(err) {
			t.Errorf("%s: %v; want a definite access-denied error", name, err)
		}
	}
	if b, _, err := base.Get(ctx, "k"); err != nil || string(b) != "v" {
		t.Fatalf("after the denied writes: %q %v", b, err)
	}
}

// TestS3ProfileCredentials: ProfileCredentials reads the named profile
// and nothing else: the environment's keys (the root's) are not used.
func TestS3ProfileCredentials(t *testing.T) {
	ctx := context.Background()
	base := s3test.NewStore(t)
	keys := s3test.AssumeRole(t, s3test.ReadOnlyPolicy(base.Config().Bucket))
	file := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(file, []byte("[ro]\naws_access_key_id = "+keys.AccessKey+"\naws_secret_access_key = "+keys.SecretKey+
		"\naws_session_token = "+keys.SessionToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := base.Config()
	cfg.Credentials = objstore.ProfileCredentials(file, "ro")
	ro, err := objstore.NewS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Put(ctx, "w", []byte("x")); !errors.Is(err, objstore.ErrAccessDenied) {
		t.Errorf("put with the read-only profile: %v; want access denied (the environment's keys were used?)", err)
	}
	cfg.Credentials = objstore.ProfileCredentials(file, "nope")
	_, err = objstore.NewS3(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "no S3 credentials in profile nope of "+file) {
		t.Errorf("missing profile: %v", err)
	}
}
