package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
)

// pathLog is a reverse proxy to the test MinIO that records the path of
// every request: an endpoint that is not the warehouse's.
type pathLog struct {
	mu    sync.Mutex
	paths []string
	url   string
}

func newPathLog(t *testing.T) *pathLog {
	target, err := url.Parse("http://" + s3test.Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	p := &pathLog{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // signed by the client
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.paths = append(p.paths, r.URL.Path)
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *pathLog) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

// TestColdTierOwnEndpointAndCredentials: a cold tier on its own endpoint
// (SILT_COLD_S3_ENDPOINT) with its own keys (SILT_COLD_AWS_*): the
// warehouse's keys may only use the warehouse bucket and the cold keys
// only the cold bucket, so tiering and reading back work only if each
// store uses its own.
func TestColdTierOwnEndpointAndCredentials(t *testing.T) {
	hot := s3test.NewStore(t).Config().Bucket
	cold := s3test.NewStore(t).Config().Bucket
	hotKeys := s3test.AssumeRole(t, s3test.ReadWritePolicy(hot))
	coldKeys := s3test.AssumeRole(t, s3test.ReadWritePolicy(cold))
	proxy := newPathLog(t)
	base := s3secEnv(hot, append(hotKeys.Env(), "SILT_COLD_URI=s3://"+cold+"/cold", "SILT_COLD_S3_ENDPOINT="+proxy.url)...)
	env := append(append([]string(nil), base...), coldKeys.EnvAs("SILT_COLD_AWS_")...)

	mustSilt(t, env, "", "sql", tieredTable)
	mustSilt(t, env, "", "sql", "INSERT INTO shop.orders VALUES (1, 'a'), (2, 'b')")
	mustSilt(t, env, "", "sql", "INSERT INTO shop.orders VALUES (3, 'c')")
	out := mustSilt(t, env, "", "maintain", "shop.orders")
	if !strings.Contains(out, "moved to the cold tier") || strings.Contains(out, " 0 files (0 B) moved") {
		t.Fatalf("maintain moved nothing:\n%s", out)
	}
	out = mustSilt(t, env, "", "--format", "csv", "sql", "SELECT id, v FROM shop.orders ORDER BY id")
	if want := "id,v\n1,a\n2,b\n3,c\n"; out != want {
		t.Fatalf("read back:\n%s\nwant:\n%s", out, want)
	}
	parquet := 0
	for k := range s3test.Encryptions(t, cold) {
		if strings.HasSuffix(k, ".parquet") {
			parquet++
		}
	}
	if parquet == 0 {
		t.Fatal("no data file in the cold bucket")
	}
	paths := proxy.seen()
	if len(paths) == 0 {
		t.Fatal("the cold tier did not use SILT_COLD_S3_ENDPOINT")
	}
	for _, p := range paths {
		if !strings.HasPrefix(p, "/"+cold) {
			t.Errorf("request %s on the cold endpoint is not for the cold bucket", p)
		}
	}

	// Without its own keys the cold tier uses the warehouse's, which
	// may not read the cold bucket: the keys above were needed.
	r := silt(t, base, "", "sql", "SELECT id, v FROM shop.orders ORDER BY id")
	oneLineError(t, "cold read with the warehouse's keys", r, "access denied", "SILT_COLD_AWS_* give the cold tier its own")
	for _, k := range []string{coldKeys.SecretKey, coldKeys.SessionToken, hotKeys.SecretKey} {
		if strings.Contains(r.stdout+r.stderr, k) {
			t.Fatal("a secret was printed")
		}
	}
	// Half a key pair, or keys and a profile, are one-line errors.
	r = silt(t, append(base, "SILT_COLD_AWS_ACCESS_KEY_ID="+coldKeys.AccessKey), "", "sql", "SELECT id FROM shop.orders")
	oneLineError(t, "half a cold key pair", r, "SILT_COLD_AWS_ACCESS_KEY_ID", "SILT_COLD_AWS_SECRET_ACCESS_KEY")
	r = silt(t, append(env, "SILT_COLD_AWS_PROFILE=cold"), "", "sql", "SELECT id FROM shop.orders")
	oneLineError(t, "cold keys and profile", r, "SILT_COLD_AWS_PROFILE")
	r = silt(t, append(env, "SILT_COLD_S3_ENDPOINT=ftp://x"), "", "sql", "SELECT id FROM shop.orders")
	oneLineError(t, "bad cold endpoint", r, "SILT_COLD_S3_ENDPOINT")
}

// TestColdTierProfile: SILT_COLD_AWS_PROFILE picks the cold tier's keys
// from the shared credentials file, ahead of the warehouse's keys in the
// environment.
func TestColdTierProfile(t *testing.T) {
	hot := s3test.NewStore(t).Config().Bucket
	cold := s3test.NewStore(t).Config().Bucket
	hotKeys := s3test.AssumeRole(t, s3test.ReadWritePolicy(hot))
	coldKeys := s3test.AssumeRole(t, s3test.ReadWritePolicy(cold))
	file := t.TempDir() + "/credentials"
	if err := os.WriteFile(file, []byte("[cold]\naws_access_key_id = "+coldKeys.AccessKey+"\naws_secret_access_key = "+coldKeys.SecretKey+
		"\naws_session_token = "+coldKeys.SessionToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := s3secEnv(hot, append(hotKeys.Env(), "SILT_COLD_URI=s3://"+cold+"/cold", "AWS_SHARED_CREDENTIALS_FILE="+file, "SILT_COLD_AWS_PROFILE=cold")...)
	mustSilt(t, env, "", "sql", tieredTable)
	mustSilt(t, env, "", "sql", "INSERT INTO shop.orders VALUES (1, 'a')")
	mustSilt(t, env, "", "maintain", "shop.orders")
	if out := mustSilt(t, env, "", "--format", "csv", "sql", "SELECT id, v FROM shop.orders"); out != "id,v\n1,a\n" {
		t.Fatalf("read back:\n%s", out)
	}
	r := silt(t, s3secEnv(hot, append(hotKeys.Env(), "SILT_COLD_URI=s3://"+cold+"/cold", "AWS_SHARED_CREDENTIALS_FILE="+file, "SILT_COLD_AWS_PROFILE=nope")...),
		"", "sql", "SELECT id FROM shop.orders")
	oneLineError(t, "unknown cold profile", r, "no S3 credentials", "profile nope")
}
