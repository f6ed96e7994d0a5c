package objstore_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// writeCredentials writes an AWS credentials file whose profile holds
// the test server's credentials, next to a profile with wrong ones.
func writeCredentials(t *testing.T, path, profile, id, secret string) {
	t.Helper()
	body := fmt.Sprintf("[decoy]\naws_access_key_id = nope\naws_secret_access_key = nope-secret\n\n[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", profile, id, secret)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestS3CredentialChain: with no credentials in the environment, NewS3
// finds them in the shared credentials file the AWS way: the profile
// named by AWS_PROFILE in the file named by AWS_SHARED_CREDENTIALS_FILE,
// or [default] in ~/.aws/credentials. A misnamed profile is an error
// naming it, without any secret.
func TestS3CredentialChain(t *testing.T) {
	base := s3test.NewStore(t)
	cfg := base.Config()
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	put := func(t *testing.T) error {
		s, err := objstore.NewS3(t.Context(), cfg)
		if err != nil {
			return err
		}
		_, err = s.Put(t.Context(), "k", []byte("via file"))
		return err
	}
	t.Run("AWS_SHARED_CREDENTIALS_FILE+AWS_PROFILE", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "creds")
		writeCredentials(t, file, "silt-test", id, secret)
		clearAWSEnv(t)
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
		t.Setenv("AWS_PROFILE", "silt-test")
		if err := put(t); err != nil {
			t.Fatalf("Put with profile credentials: %v", err)
		}
		t.Setenv("AWS_PROFILE", "no-such-profile")
		err := put(t)
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), `"no-such-profile"`) || !strings.Contains(err.Error(), file) {
			t.Fatalf("wrong profile: %v; want types.ErrInvalid naming the profile and the file", err)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "nope-secret") {
			t.Fatalf("error leaks a secret: %v", err)
		}
	})
	t.Run("home default profile", func(t *testing.T) {
		clearAWSEnv(t)
		writeCredentials(t, filepath.Join(os.Getenv("HOME"), ".aws", "credentials"), "default", id, secret)
		if err := put(t); err != nil {
			t.Fatalf("Put with ~/.aws/credentials: %v", err)
		}
	})
	t.Run("environment first", func(t *testing.T) {
		clearAWSEnv(t)
		file := filepath.Join(t.TempDir(), "creds")
		writeCredentials(t, file, "silt-test", id, secret)
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
		t.Setenv("AWS_PROFILE", "decoy") // wrong keys, but the environment wins
		t.Setenv("AWS_ACCESS_KEY_ID", id)
		t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
		if err := put(t); err != nil {
			t.Fatalf("Put with environment credentials: %v", err)
		}
	})
}

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in, host          string
		secure, hasScheme bool
	}{
		{"127.0.0.1:9000", "127.0.0.1:9000", false, false},
		{"http://minio:9000", "minio:9000", false, true},
		{"https://s3.eu-west-1.amazonaws.com/", "s3.eu-west-1.amazonaws.com", true, true},
	} {
		host, secure, hasScheme, err := objstore.ParseEndpoint(tc.in)
		if err != nil || host != tc.host || secure != tc.secure || hasScheme != tc.hasScheme {
			t.Errorf("ParseEndpoint(%q) = %q %v %v %v", tc.in, host, secure, hasScheme, err)
		}
	}
	for in, want := range map[string]string{
		"http:/127.0.0.1:9000":        "did you mean http://127.0.0.1:9000?",
		"HTTPS:minio:9000":            "did you mean https://minio:9000?",
		"http://minio:9000/warehouse": "the bucket and prefix go in the warehouse URI",
	} {
		if _, _, _, err := objstore.ParseEndpoint(in); !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseEndpoint(%q): %v; want %q", in, err, want)
		}
	}
	for _, in := range []string{"ftp://h", "http://", "http://h/path", "http://user:hunter2@h", "h/x", "u:hunter2@h", "http:/u:hunter2@h"} {
		_, _, _, err := objstore.ParseEndpoint(in)
		if !errors.Is(err, types.ErrInvalid) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseEndpoint(%q): %v; want types.ErrInvalid without the secret", in, err)
		}
	}
}
