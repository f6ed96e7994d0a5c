package s3test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIOBinEnv names the variable holding the MinIO binary that
// scripts/test.sh runs, for tests that need a server of their own.
const MinIOBinEnv = "SILT_TEST_MINIO_BIN"

// OIDC is a minimal OpenID Connect provider for MinIO's
// AssumeRoleWithWebIdentity: a discovery document and an (empty) JWKS
// over loopback HTTP. Its tokens are HS256 JWTs keyed by the client
// secret, which MinIO accepts under the client id as key id.
type OIDC struct {
	URL          string // the provider's base URL (the issuer)
	ClientID     string
	clientSecret string
}

// NewOIDC starts the provider; it stops when the test ends.
func NewOIDC(t testing.TB) *OIDC {
	t.Helper()
	o := &OIDC{ClientID: "silt-test", clientSecret: "silt-test-oidc-client-secret"}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                o.URL,
			"authorization_endpoint":                o.URL + "/auth",
			"token_endpoint":                        o.URL + "/token",
			"jwks_uri":                              o.URL + "/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"HS256"},
			"scopes_supported":                      []string{"openid"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	o.URL = srv.URL
	return o
}

// ServerEnv is the MinIO environment that trusts the provider, mapping
// a token's "policy" claim to MinIO policies.
func (o *OIDC) ServerEnv() []string {
	return []string{
		"MINIO_IDENTITY_OPENID_CONFIG_URL=" + o.URL + "/.well-known/openid-configuration",
		"MINIO_IDENTITY_OPENID_CLIENT_ID=" + o.ClientID,
		"MINIO_IDENTITY_OPENID_CLIENT_SECRET=" + o.clientSecret,
		"MINIO_IDENTITY_OPENID_CLAIM_NAME=policy",
		"MINIO_IDENTITY_OPENID_SCOPES=openid",
	}
}

// Token returns a signed ID token for subject sub granting the MinIO
// policy, valid for ttl.
func (o *OIDC) Token(sub, policy string, ttl time.Duration) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now()
	head := enc(map[string]string{"alg": "HS256", "typ": "JWT", "kid": o.ClientID})
	body := enc(map[string]any{"iss": o.URL, "sub": sub, "aud": o.ClientID, "azp": o.ClientID,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(), "policy": policy})
	mac := hmac.New(sha256.New, []byte(o.clientSecret))
	mac.Write([]byte(head + "." + body))
	return head + "." + body + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// StartMinIO starts a MinIO server of the test's own (the binary of
// SILT_TEST_MINIO_BIN, root credentials from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY) with the extra environment, and returns its
// host:port. It is stopped when the test ends. Without the binary the
// test is skipped, or fails under CI.
func StartMinIO(t testing.TB, env ...string) string {
	t.Helper()
	Endpoint(t)
	bin := os.Getenv(MinIOBinEnv)
	if bin == "" {
		const msg = MinIOBinEnv + " is not set: run the tests with scripts/test.sh"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	var lastLog []byte
	for try := 0; try < 3; try++ {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--console-address", freeAddr(t), fmt.Sprintf("%s/data%d", dir, try))
		cmd.Env = append(os.Environ(),
			"MINIO_ROOT_USER="+os.Getenv("AWS_ACCESS_KEY_ID"),
			"MINIO_ROOT_PASSWORD="+os.Getenv("AWS_SECRET_ACCESS_KEY"),
			"MINIO_UPDATE=off")
		cmd.Env = append(cmd.Env, env...)
		var log strings.Builder
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatalf("s3test: start %s: %v", bin, err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-done
		}
		if live(addr, done) {
			t.Cleanup(stop)
			return addr
		}
		stop()
		lastLog = []byte(log.String())
	}
	t.Fatalf("s3test: MinIO did not come up; its log:\n%s", lastLog)
	return ""
}

// live waits (up to 60s) until the server answers S3 requests (its
// liveness endpoint answers before IAM is initialized).
func live(addr string, exited <-chan struct{}) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := minio.New(addr, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		Region: "us-east-1",
	})
	if err != nil {
		return false
	}
	for {
		if _, err := c.BucketExists(ctx, "silt-probe"); err == nil {
			return true
		}
		select {
		case <-exited:
			return false
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
