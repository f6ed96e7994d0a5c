package objstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestS3SSE: with SSE set, every kind of write (put, put-if-absent,
// put-if-match) lands encrypted as the service reports it, and reads back.
func TestS3SSE(t *testing.T) {
	ctx := context.Background()
	keyName := s3test.KMSKey(t)
	base := s3test.NewStore(t)
	for _, tc := range []struct {
		name, sse, keyID, context string
		wantAlg                   string
	}{
		{"sse-s3", objstore.SSES3, "", "", "AES256"},
		{"sse-kms", objstore.SSEKMS, keyName, "", "aws:kms"},
		{"sse-kms-context", objstore.SSEKMS, keyName, `{"team":"data"}`, "aws:kms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base.Config()
			cfg.SSE, cfg.SSEKMSKeyID, cfg.SSEKMSContext = tc.sse, tc.keyID, tc.context
			s, err := objstore.NewS3(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(s.String(), "sse-"+tc.sse) {
				t.Errorf("String() = %q does not name the encryption", s)
			}
			p := tc.name + "/"
			if _, err := s.Put(ctx, p+"put", []byte("a")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.PutIfAbsent(ctx, p+"absent", []byte("b")); err != nil {
				t.Fatal(err)
			}
			oi, err := s.Put(ctx, p+"match", []byte("c0"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.PutIfMatch(ctx, p+"match", []byte("c"), oi.ETag); err != nil {
				t.Fatal(err)
			}
			for key, want := range map[string]string{"put": "a", "absent": "b", "match": "c"} {
				alg, kmsKey, err := objstore.SSEOf(ctx, s, p+key)
				if err != nil {
					t.Fatal(err)
				}
				if alg != tc.wantAlg {
					t.Errorf("%s: encryption %q, want %q", key, alg, tc.wantAlg)
				}
				if tc.keyID != "" && !strings.HasSuffix(kmsKey, tc.keyID) {
					t.Errorf("%s: KMS key %q, want %q", key, kmsKey, tc.keyID)
				}
				// Read back through silt, and through a store without SSE
				// settings: reads need none.
				for _, r := range []*objstore.S3{s, base} {
					if b, _, err := r.Get(ctx, p+key); err != nil || string(b) != want {
						t.Errorf("%s: get %q %v, want %q", key, b, err, want)
					}
					if b, err := r.GetRange(ctx, p+key, 0, 1); err != nil || string(b) != want[:1] {
						t.Errorf("%s: get range %q %v", key, b, err)
					}
				}
			}
			// Unencrypted writes stay unencrypted: the header comes from
			// the setting, not from the server.
			if _, err := base.Put(ctx, p+"plain", []byte("p")); err != nil {
				t.Fatal(err)
			}
			if alg, _, err := objstore.SSEOf(ctx, base, p+"plain"); err != nil || alg != "" {
				t.Errorf("plain put: encryption %q %v", alg, err)
			}
		})
	}
}

// TestS3SSEKMSUnknownKey: a KMS key the service does not have fails the
// write with one line naming the setting, and is not retried.
func TestS3SSEKMSUnknownKey(t *testing.T) {
	ctx := context.Background()
	s3test.KMSKey(t)
	cfg := s3test.NewStore(t).Config()
	cfg.SSE, cfg.SSEKMSKeyID = objstore.SSEKMS, "no-such-key"
	s, err := objstore.NewS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, put := range map[string]func() error{
		"put":           func() error { _, err := s.Put(ctx, "k", []byte("x")); return err },
		"put-if-absent": func() error { _, err := s.PutIfAbsent(ctx, "k2", []byte("x")); return err },
	} {
		err := put()
		t.Logf("%s: %v", name, err)
		switch {
		case err == nil:
			t.Fatalf("%s: an unknown KMS key was accepted", name)
		case strings.Contains(err.Error(), "\n"):
			t.Errorf("%s: error is not one line: %q", name, err)
		case !strings.Contains(err.Error(), "SILT_S3_SSE_KMS_KEY_ID"):
			t.Errorf("%s: error does not name the setting: %v", name, err)
		case !errors.Is(err, types.ErrInvalid) || errors.Is(err, objstore.ErrAmbiguous) || objstore.IsRetryable(err):
			t.Errorf("%s: error is not a definite configuration error: %v", name, err)
		}
	}
}

func TestParseSSE(t *testing.T) {
	for in, want := range map[string]string{"": "", "none": "", "S3": "s3", " kms ": "kms"} {
		if got, err := objstore.ParseSSE("SILT_S3_SSE", in); err != nil || got != want {
			t.Errorf("ParseSSE(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := objstore.ParseSSE("SILT_S3_SSE", "aes")
	if err == nil || !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "SILT_S3_SSE") || !strings.Contains(err.Error(), "want s3") {
		t.Errorf("ParseSSE(aes) = %v", err)
	}
	bad := []objstore.S3Config{
		{Bucket: "bkt", SSE: "aes"},
		{Bucket: "bkt", SSEKMSKeyID: "k"},                      // a key without kms
		{Bucket: "bkt", SSE: objstore.SSES3, SSEKMSKeyID: "k"}, // ditto
		{Bucket: "bkt", SSE: objstore.SSEKMS, SSEKMSContext: "[1]"},
		{Bucket: "bkt", SSE: objstore.SSEKMS, SSEKMSKeyID: "a\nb"},
	}
	for _, cfg := range bad {
		if _, err := objstore.NewS3(context.Background(), cfg); err == nil || !errors.Is(err, types.ErrInvalid) {
			t.Errorf("NewS3(%+v) = %v, want an invalid-config error", cfg, err)
		}
	}
}

// FuzzParseSSEKMSContext also drives ParseSSE: both parse user input.
func FuzzParseSSEKMSContext(f *testing.F) {
	for _, s := range []string{"", `{"a":"b"}`, `{}`, `null`, `[1]`, `{"a":1}`, `{"a":"b","c":"d"}`, "kms", "S3", "none"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		if mode, err := objstore.ParseSSE("SILT_S3_SSE", s); err != nil {
			if !errors.Is(err, types.ErrInvalid) {
				t.Fatalf("ParseSSE(%q): %v", s, err)
			}
		} else if mode != "" && mode != objstore.SSES3 && mode != objstore.SSEKMS {
			t.Fatalf("ParseSSE(%q) = %q", s, mode)
		}
		m, err := objstore.ParseSSEKMSContext("ctx", s)
		if err != nil {
			if !errors.Is(err, types.ErrInvalid) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q", err)
			}
			return
		}
		if m == nil && strings.TrimSpace(s) != "" {
			t.Fatalf("%q: no context and no error", s)
		}
	})
}
