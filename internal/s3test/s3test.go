// Package s3test gives tests a fresh bucket on the test MinIO server that
// scripts/test.sh starts:
//
//	store := s3test.NewStore(t) // *objstore.S3 on an empty, uniquely named bucket
//
// The server comes from the environment: SILT_TEST_S3_ENDPOINT
// (host:port, plain http) and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
// Without SILT_TEST_S3_ENDPOINT the test is skipped, or fails when CI is
// set, so that CI can never silently skip the S3 tests.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/siltdb/silt/objstore"
)

// EndpointEnv names the variable holding the test server's host:port.
const EndpointEnv = "SILT_TEST_S3_ENDPOINT"

// Endpoint returns the test server's host:port, skipping the test (or
// failing it under CI) when none is configured.
func Endpoint(t testing.TB) string {
	t.Helper()
	ep := os.Getenv(EndpointEnv)
	if ep == "" {
		const msg = EndpointEnv + " is not set: run the tests with scripts/test.sh, which starts a local MinIO server"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return ep
}

// Config returns a config for a new, uniquely named bucket on the test
// server, which does not exist yet. Most tests want NewStore.
func Config(t testing.TB) objstore.S3Config {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return objstore.S3Config{
		Endpoint:  Endpoint(t),
		Region:    "us-east-1",
		Bucket:    "silt-test-" + hex.EncodeToString(b[:]),
		PathStyle: true,
	}
}

// NewStore creates a fresh bucket on the test server and returns a store
// on it. The bucket and everything in it are removed when the test ends
// (best effort).
func NewStore(t testing.TB) *objstore.S3 {
	t.Helper()
	cfg := Config(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := objstore.NewS3(ctx, cfg)
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	if err := s.EnsureBucket(ctx); err != nil {
		t.Fatalf("s3test: %v", err)
	}
	t.Cleanup(func() { removeBucket(t, s) })
	return s
}

// removeBucket deletes every object and then the bucket, logging (not
// failing on) errors.
func removeBucket(t testing.TB, s *objstore.S3) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	objs, err := s.List(ctx, "")
	if err != nil {
		t.Logf("s3test: cleanup of %s: %v", s, err)
		return
	}
	for _, o := range objs {
		if err := s.Delete(ctx, o.Key); err != nil {
			t.Logf("s3test: cleanup of %s: %v", s, err)
		}
	}
	if err := s.RemoveBucket(ctx); err != nil {
		t.Logf("s3test: cleanup of %s: %v", s, err)
	}
}
