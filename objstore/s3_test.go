package objstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func TestParseS3URI(t *testing.T) {
	for _, tc := range []struct {
		uri            string
		bucket, prefix string
	}{
		{"s3://bucket", "bucket", ""},
		{"s3://bucket/", "bucket", ""},
		{"s3://my.bucket-1/a/b/", "my.bucket-1", "a/b"},
		{"s3://abc/warehouse", "abc", "warehouse"},
	} {
		cfg, err := objstore.ParseS3URI(tc.uri)
		if err != nil || cfg.Bucket != tc.bucket || cfg.Prefix != tc.prefix {
			t.Errorf("ParseS3URI(%q) = %+v, %v; want bucket %q prefix %q", tc.uri, cfg, err, tc.bucket, tc.prefix)
		}
	}
	for _, uri := range []string{
		"", "bucket", "http://bucket/x", "s3://", "s3:///x", "s3://Bucket", "s3://ab", "s3://b..c", "s3://-bc",
		"s3://bc-", "s3://b_c", "s3://" + strings.Repeat("b", 64), "s3://bucket//x", "s3://bucket/a/../b",
		"s3://bucket/./b", "s3://bucket//", "s3://bucket/a//", "s3://bucket/a?x=1", "s3://bucket/a#f", "s3://host:9000/x", "s3://bucket/a\\b",
	} {
		if _, err := objstore.ParseS3URI(uri); !errors.Is(err, types.ErrInvalid) {
			t.Errorf("ParseS3URI(%q): %v, want types.ErrInvalid", uri, err)
		}
	}
	cfg, err := objstore.ParseS3URI("s3://cold/tier?storage-class=GLACIER_IR")
	if err != nil || cfg.Bucket != "cold" || cfg.Prefix != "tier" || cfg.StorageClass != "GLACIER_IR" {
		t.Errorf("storage class: %+v %v", cfg, err)
	}
	for _, uri := range []string{"s3://b12/x?storage-class=", "s3://b12/x?storage-class=glacier", "s3://b12/x?class=A", "s3://b12?storage-class=A B"} {
		if _, err := objstore.ParseS3URI(uri); !errors.Is(err, types.ErrInvalid) {
			t.Errorf("ParseS3URI(%q): %v, want types.ErrInvalid", uri, err)
		}
	}
	_, err = objstore.ParseS3URI("s3://AKIAEXAMPLE:hunter2-secret@bucket/x")
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "AKIAEXAMPLE") {
		t.Fatalf("ParseS3URI with credentials: %v; want an error that does not echo them", err)
	}
}

func FuzzParseS3URI(f *testing.F) {
	for _, s := range []string{"s3://bucket", "s3://my.bucket-1/a/b/", "s3://k:secret@bucket/x", "s3://bucket//x", "s3://b/a/../c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		if len(uri) > maxFuzzInput {
			return
		}
		cfg, err := objstore.ParseS3URI(uri)
		if err != nil {
			if !errors.Is(err, types.ErrInvalid) {
				t.Fatalf("error %v does not wrap types.ErrInvalid", err)
			}
			rest, _ := strings.CutPrefix(uri, "s3://")
			host, _, _ := strings.Cut(rest, "/")
			if user, _, ok := strings.Cut(host, "@"); ok && len(user) >= 4 && strings.Contains(err.Error(), user) {
				t.Fatalf("error %q echoes the user info of %q", err, uri)
			}
			return
		}
		// Accepted URIs are canonical up to a trailing slash.
		canon := "s3://" + cfg.Bucket
		if cfg.Prefix != "" {
			canon += "/" + cfg.Prefix
		}
		if cfg.StorageClass != "" {
			uri = strings.Replace(uri, "/?", "?", 1)
			canon += "?storage-class=" + cfg.StorageClass
		}
		if strings.TrimSuffix(uri, "/") != canon {
			t.Fatalf("ParseS3URI(%q) = %+v, which formats as %q", uri, cfg, canon)
		}
		again, err := objstore.ParseS3URI(canon)
		if err != nil || again != cfg {
			t.Fatalf("re-parsing %q = %+v, %v; want %+v", canon, again, err, cfg)
		}
	})
}

func TestS3ConfigString(t *testing.T) {
	cfg := objstore.S3Config{Endpoint: "minio:9000", Region: "eu-west-1", Bucket: "b1b", Prefix: "/p/q/", PathStyle: true, CredentialsFile: "/etc/creds"}
	want := "s3://b1b/p/q (endpoint http://minio:9000, region eu-west-1, path-style, credentials file /etc/creds)"
	if got := cfg.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

// clearAWSEnv removes every variable the credential chain reads, points
// HOME at an empty directory and disables the instance metadata lookup.
func clearAWSEnv(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
		"AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestNewS3NeedsCredentials(t *testing.T) {
	clearAWSEnv(t)
	_, err := objstore.NewS3(t.Context(), objstore.S3Config{Endpoint: "127.0.0.1:1", Bucket: "bucket"})
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("NewS3 without credentials: %v; want types.ErrInvalid naming the variables", err)
	}
	_, err = objstore.NewS3(t.Context(), objstore.S3Config{Endpoint: "127.0.0.1:1", Bucket: "bucket", CredentialsFile: filepath.Join(t.TempDir(), "missing")})
	if !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("NewS3 with a missing credentials file: %v; want types.ErrInvalid", err)
	}
	_, err = objstore.NewS3(t.Context(), objstore.S3Config{Endpoint: "http://host", Bucket: "bucket"})
	if !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("NewS3 with a scheme in the endpoint: %v; want types.ErrInvalid", err)
	}
}

// TestS3SecretsNeverPrinted plants canary credentials and checks that no
// config, store or error string carries them, both when the endpoint is
// unreachable and (given a test server) when it rejects the signature.
func TestS3SecretsNeverPrinted(t *testing.T) {
	const secret, token = "canary-secret-0123456789abcdef", "canary-token-fedcba9876543210"
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		t.Setenv("AWS_ACCESS_KEY_ID", "canary-access-key")
	}
	endpoints := map[string]string{"unreachable": "127.0.0.1:1"}
	if ep := os.Getenv(s3test.EndpointEnv); ep != "" {
		endpoints["rejecting"] = ep
	}
	for name, ep := range endpoints {
		for _, tok := range []string{"", token} {
			t.Setenv("AWS_SESSION_TOKEN", tok)
			t.Run(fmt.Sprintf("%s/token=%v", name, tok != ""), func(t *testing.T) {
				cfg := objstore.S3Config{Endpoint: ep, Region: "us-east-1", Bucket: "canary-bucket", PathStyle: true}
				s, err := objstore.NewS3(t.Context(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
				defer cancel()
				r := objstore.NewRetry(s, objstore.RetryOptions{MaxAttempts: 2})
				var texts []string
				add := func(err error) {
					if err == nil {
						t.Fatalf("an operation succeeded with bad credentials")
					}
					texts = append(texts, err.Error(), fmt.Sprintf("%+v %#v", err, err))
				}
				_, err = r.Put(ctx, "k", []byte("x"))
				add(err)
				_, err = r.PutIfAbsent(ctx, "k", []byte("x"))
				add(err)
				_, _, err = r.Get(ctx, "k")
				add(err)
				_, err = r.List(ctx, "")
				add(err)
				add(s.EnsureBucket(ctx))
				texts = append(texts, fmt.Sprint(cfg), fmt.Sprintf("%+v %#v", cfg, cfg), fmt.Sprint(s), fmt.Sprintf("%+v %#v", s, s))
				for _, text := range texts {
					if strings.Contains(text, secret) || strings.Contains(text, token) {
						t.Fatalf("credentials leaked into %q", text)
					}
				}
				t.Logf("sample error: %s", texts[0])
			})
		}
	}
}

func TestS3CredentialsFile(t *testing.T) {
	ep := s3test.Endpoint(t)
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	base := s3test.NewStore(t)
	file := filepath.Join(t.TempDir(), "credentials")
	body := fmt.Sprintf("[other]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", id, secret)
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	clearAWSEnv(t)
	cfg := base.Config()
	cfg.Endpoint, cfg.CredentialsFile = ep, file
	s, err := objstore.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), "k", []byte("via file")); err != nil {
		t.Fatalf("Put with file credentials: %v", err)
	}
}

// dropProxy forwards requests to an S3 server, but for the first
// conditional PUT it lets the server apply the write and then drops the
// connection instead of answering: the "PUT that succeeded but looked
// failed" case.
type dropProxy struct {
	*httptest.Server
	puts atomic.Int32 // conditional PUTs that reached the server
}

func newDropProxy(t *testing.T, endpoint string) *dropProxy {
	target := &url.URL{Scheme: "http", Host: endpoint}
	p := &dropProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // the signature covers Host
		},
		ModifyResponse: func(resp *http.Response) error {
			r := resp.Request
			if r.Method == http.MethodPut && (r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Match") != "") {
				if p.puts.Add(1) == 1 {
					return errors.New("drop")
				}
			}
			return nil
		},
		ErrorHandler: func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) },
	}
	p.Server = httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p
}

func (p *dropProxy) store(t *testing.T, cfg objstore.S3Config) *objstore.S3 {
	cfg.Endpoint = strings.TrimPrefix(p.URL, "http://")
	s, err := objstore.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3ConditionalPutLostResponseIsAmbiguous(t *testing.T) {
	direct := s3test.NewStore(t)
	proxied := newDropProxy(t, direct.Config().Endpoint).store(t, direct.Config())

	_, err := proxied.PutIfAbsent(t.Context(), "snap", []byte("ours"))
	if !errors.Is(err, objstore.ErrAmbiguous) {
		// In particular not ErrPreconditionFailed, which an internal
		// retry of the applied PUT would report.
		t.Fatalf("PutIfAbsent with a lost response: %v, want ErrAmbiguous", err)
	}
	if got := getBytes(t, direct, "snap"); got != "ours" {
		t.Fatalf("stored %q, want ours (the write was applied)", got)
	}

	v1, err := direct.Put(t.Context(), "ptr", []byte("v1"))
	if err != nil {
		t.Fatal(err)
	}
	proxy2 := newDropProxy(t, direct.Config().Endpoint)
	_, err = proxy2.store(t, direct.Config()).PutIfMatch(t.Context(), "ptr", []byte("v2"), v1.ETag)
	if !errors.Is(err, objstore.ErrAmbiguous) {
		t.Fatalf("PutIfMatch with a lost response: %v, want ErrAmbiguous", err)
	}
	if got := getBytes(t, direct, "ptr"); got != "v2" {
		t.Fatalf("stored %q, want v2", got)
	}
}

func TestRetryS3ResolvesLostResponse(t *testing.T) {
	direct := s3test.NewStore(t)
	proxy := newDropProxy(t, direct.Config().Endpoint)
	r := objstore.NewRetry(proxy.store(t, direct.Config()), objstore.RetryOptions{})
	info, err := r.PutIfAbsent(t.Context(), "snap", []byte("ours"))
	if err != nil {
		t.Fatalf("PutIfAbsent: %v", err)
	}
	if n := proxy.puts.Load(); n != 1 {
		t.Fatalf("%d conditional PUTs reached the server, want 1", n)
	}
	if st, err := direct.Stat(t.Context(), "snap"); err != nil || st.ETag != info.ETag {
		t.Fatalf("Stat = %+v, %v; want ETag %s", st, err, info.ETag)
	}
	if s := r.Stats(); s.AmbiguousResolved != 1 {
		t.Fatalf("Stats = %+v, want one resolved ambiguity", s)
	}
}

// TestS3StorageClass: a store with a storage class (a cold tier) puts with
// it; MinIO accepts STANDARD and REDUCED_REDUNDANCY and rejects unknown
// classes, so the header demonstrably reaches the server.
func TestS3StorageClass(t *testing.T) {
	ctx := context.Background()
	base := s3test.NewStore(t)
	cfg := base.Config()
	cfg.StorageClass = "REDUCED_REDUNDANCY"
	s, err := objstore.NewS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "k", []byte("cold")); err != nil {
		t.Fatal(err)
	}
	if b, _, err := base.Get(ctx, "k"); err != nil || string(b) != "cold" {
		t.Fatalf("get: %q %v", b, err)
	}
	cfg.StorageClass = "NO_SUCH_CLASS"
	bad, err := objstore.NewS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Put(ctx, "k2", []byte("x")); err == nil {
		t.Fatal("an unknown storage class was accepted: the header is not sent")
	}
}
