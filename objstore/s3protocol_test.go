package objstore_test

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/siltdb/silt/objstore"
)

// TestS3ProtocolMismatch: HTTPS spoken to a plain-HTTP endpoint and plain
// HTTP spoken to an HTTPS one are ProtocolErrors, which are not retried.
func TestS3ProtocolMismatch(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	tls := httptest.NewUnstartedServer(http.NotFoundHandler())
	tls.Config.ErrorLog = log.New(io.Discard, "", 0) // the plain-HTTP request's handshake error
	tls.StartTLS()
	defer tls.Close()
	for _, tc := range []struct {
		name     string
		endpoint string
		secure   bool
		wantTLS  bool
	}{
		{"https to http", strings.TrimPrefix(plain.URL, "http://"), true, false},
		{"http to https", strings.TrimPrefix(tls.URL, "https://"), false, true},
	} {
		s3, err := objstore.NewS3(t.Context(), objstore.S3Config{Bucket: "bucket", Endpoint: tc.endpoint, Secure: tc.secure, PathStyle: true, Region: "us-east-1"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s3.BucketExists(t.Context())
		var pe *objstore.ProtocolError
		if !errors.As(err, &pe) || pe.EndpointTLS != tc.wantTLS || pe.Endpoint != tc.endpoint {
			t.Errorf("%s: %v, want a ProtocolError with EndpointTLS=%v", tc.name, err, tc.wantTLS)
			continue
		}
		if objstore.IsRetryable(err) {
			t.Errorf("%s: %v is retryable", tc.name, err)
		}
	}
	// A plain-HTTP endpoint that answers 400 is not taken for TLS.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(400) }))
	defer bad.Close()
	s3, err := objstore.NewS3(t.Context(), objstore.S3Config{Bucket: "bucket", Endpoint: strings.TrimPrefix(bad.URL, "http://"), PathStyle: true, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var pe *objstore.ProtocolError
	if _, err := s3.BucketExists(t.Context()); err == nil || errors.As(err, &pe) {
		t.Errorf("400 from a plain-HTTP endpoint: %v, want an error that is no ProtocolError", err)
	}
}
