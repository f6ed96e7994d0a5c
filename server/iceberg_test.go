package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/icebergview"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// icebergTestServer serves the handler of a server over cat whose
// published metadata is published[root] (location, JSON).
func icebergTestServer(t *testing.T, cat *catalog.Catalog, hints map[string]string, published map[string][2]string) (*Server, *httptest.Server) {
	t.Helper()
	srv, err := New(Options{Config: testConfig(t, nil), Catalog: cat, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		IcebergClientConfig: hints})
	if err != nil {
		t.Fatal(err)
	}
	srv.icebergCurrent = func(ctx context.Context, store objstore.Store, root string) (string, []byte, error) {
		p, ok := published[root]
		if !ok {
			return "", nil, fmt.Errorf("root %s: %w", root, icebergview.ErrNotPublished)
		}
		return p[0], []byte(p[1]), nil
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return srv, hs
}

type icebergAnswer struct {
	code   int
	header http.Header
	body   map[string]any
	raw    string
}

func icebergDo(t *testing.T, method, url string, header map[string]string) icebergAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := icebergAnswer{code: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &a.body); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, url, err, b)
		}
	}
	return a
}

// wantError checks the specification's error model.
func (a icebergAnswer) wantError(t *testing.T, code int, typ, msgPart string) {
	t.Helper()
	if a.code != code {
		t.Fatalf("status %d, want %d: %s", a.code, code, a.raw)
	}
	e, ok := a.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object: %s", a.raw)
	}
	if e["type"] != typ || e["code"] != float64(code) || !strings.Contains(fmt.Sprint(e["message"]), msgPart) {
		t.Fatalf("error %v, want type %s, code %d, message containing %q", e, typ, code, msgPart)
	}
}

func TestIcebergCatalogRoutes(t *testing.T) {
	cat := memWarehouse(t, 2)
	ctx := context.Background()
	for _, db := range []string{"analytics", "zeta"} {
		if err := cat.CreateDatabase(ctx, db, false); err != nil {
			t.Fatal(err)
		}
	}
	tb, err := cat.LoadTable(ctx, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	const loc = "s3://bucket/wh/shop.db/orders/metadata/00002.metadata.json"
	meta := `{"format-version":2,"table-uuid":"u","location":"s3://bucket/wh/shop.db/orders"}`
	hints := map[string]string{"s3.endpoint": "http://minio:9000", "s3.path-style-access": "true",
		"s3.secret-access-key": "SECRET", "s3.access-key-id": "AKIA"}
	srv, hs := icebergTestServer(t, cat, hints, map[string][2]string{tb.Root(): {loc, meta}})
	base := hs.URL + PathIceberg + "/v1"

	// config: the hints as defaults, never a credential; the read endpoints.
	a := icebergDo(t, "GET", base+"/config?warehouse=anything", nil)
	if a.code != 200 || strings.Contains(a.raw, "SECRET") || strings.Contains(a.raw, "AKIA") {
		t.Fatalf("config: %d %s", a.code, a.raw)
	}
	if d := a.body["defaults"].(map[string]any); d["s3.endpoint"] != "http://minio:9000" || d["s3.path-style-access"] != "true" {
		t.Fatalf("config defaults: %v", d)
	}
	if eps := fmt.Sprint(a.body["endpoints"]); !strings.Contains(eps, "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}") || strings.Contains(eps, "POST") {
		t.Fatalf("endpoints: %s", eps)
	}

	// namespaces, with paging
	a = icebergDo(t, "GET", base+"/namespaces", nil)
	if a.code != 200 || fmt.Sprint(a.body["namespaces"]) != "[[analytics] [shop] [zeta]]" || a.body["next-page-token"] != nil {
		t.Fatalf("list namespaces: %s", a.raw)
	}
	a = icebergDo(t, "GET", base+"/namespaces?pageSize=2", nil)
	if fmt.Sprint(a.body["namespaces"]) != "[[analytics] [shop]]" || a.body["next-page-token"] != "shop" {
		t.Fatalf("page 1: %s", a.raw)
	}
	a = icebergDo(t, "GET", base+"/namespaces?pageSize=2&pageToken=shop", nil)
	if fmt.Sprint(a.body["namespaces"]) != "[[zeta]]" || a.body["next-page-token"] != nil {
		t.Fatalf("page 2: %s", a.raw)
	}
	icebergDo(t, "GET", base+"/namespaces?pageSize=x", nil).wantError(t, 400, "BadRequestException", "pageSize")
	a = icebergDo(t, "GET", base+"/namespaces?parent=shop", nil)
	if a.code != 200 || fmt.Sprint(a.body["namespaces"]) != "[]" {
		t.Fatalf("children of shop: %s", a.raw)
	}
	icebergDo(t, "GET", base+"/namespaces?parent=nope", nil).wantError(t, 404, "NoSuchNamespaceException", "nope")
	a = icebergDo(t, "GET", base+"/namespaces/shop", nil)
	if a.code != 200 || fmt.Sprint(a.body["namespace"]) != "[shop]" {
		t.Fatalf("load namespace: %s", a.raw)
	}
	if a := icebergDo(t, "HEAD", base+"/namespaces/shop", nil); a.code != 204 {
		t.Fatalf("HEAD namespace: %d", a.code)
	}
	if a := icebergDo(t, "HEAD", base+"/namespaces/nope", nil); a.code != 404 {
		t.Fatalf("HEAD missing namespace: %d", a.code)
	}
	icebergDo(t, "GET", base+"/namespaces/a%1Fb", nil).wantError(t, 404, "NoSuchNamespaceException", "one level")
	icebergDo(t, "GET", base+"/namespaces/..%2F..", nil).wantError(t, 404, "NoSuchNamespaceException", "not allowed")

	// tables: listed whether published or not
	if _, err := cat.CreateTable(ctx, "shop", "plain", tb.Schema(), false); err != nil {
		t.Fatal(err)
	}
	a = icebergDo(t, "GET", base+"/namespaces/shop/tables", nil)
	if a.code != 200 || fmt.Sprint(a.body["identifiers"]) != "[map[name:orders namespace:[shop]] map[name:plain namespace:[shop]]]" {
		t.Fatalf("list tables: %s", a.raw)
	}
	icebergDo(t, "GET", base+"/namespaces/nope/tables", nil).wantError(t, 404, "NoSuchNamespaceException", "nope")

	// load: LoadTableResult with the metadata as published
	a = icebergDo(t, "GET", base+"/namespaces/shop/tables/orders", nil)
	if a.code != 200 || a.body["metadata-location"] != loc {
		t.Fatalf("load table: %s", a.raw)
	}
	if m, _ := json.Marshal(a.body["metadata"]); !jsonEqual(t, string(m), meta) {
		t.Fatalf("metadata %s, want %s", m, meta)
	}
	if _, ok := a.body["config"].(map[string]any); !ok {
		t.Fatalf("no config object: %s", a.raw)
	}
	etag := a.header.Get("ETag")
	if b := icebergDo(t, "GET", base+"/namespaces/shop/tables/orders", map[string]string{"If-None-Match": etag}); etag == "" || b.code != 304 {
		t.Fatalf("If-None-Match %q: %d", etag, b.code)
	}
	if a := icebergDo(t, "HEAD", base+"/namespaces/shop/tables/orders", nil); a.code != 204 {
		t.Fatalf("HEAD table: %d", a.code)
	}
	// not published: 404 saying how to enable it
	icebergDo(t, "GET", base+"/namespaces/shop/tables/plain", nil).wantError(t, 404, "NoSuchTableException",
		"ALTER TABLE shop.plain SET ('metadata.iceberg.enabled' = 'true')")
	if a := icebergDo(t, "HEAD", base+"/namespaces/shop/tables/plain", nil); a.code != 404 {
		t.Fatalf("HEAD unpublished table: %d", a.code)
	}
	// enabled, not yet published: says so
	pending := *tb.Schema()
	pending.Options = map[string]string{"metadata.iceberg.enabled": "true"}
	if _, err := cat.CreateTable(ctx, "analytics", "pending", &pending, false); err != nil {
		t.Fatal(err)
	}
	icebergDo(t, "GET", base+"/namespaces/analytics/tables/pending", nil).wantError(t, 404, "NoSuchTableException", "is on and the metadata is written after the table's next commit")
	icebergDo(t, "GET", base+"/namespaces/shop/tables/missing", nil).wantError(t, 404, "NoSuchTableException", "does not exist")
	icebergDo(t, "GET", base+"/namespaces/nope/tables/orders", nil).wantError(t, 404, "NoSuchNamespaceException", "nope")

	// views: none
	a = icebergDo(t, "GET", base+"/namespaces/shop/views", nil)
	if a.code != 200 || fmt.Sprint(a.body["identifiers"]) != "[]" {
		t.Fatalf("list views: %s", a.raw)
	}
	icebergDo(t, "GET", base+"/namespaces/shop/views/v", nil).wantError(t, 404, "NoSuchViewException", "no views")

	// writes: 405 in the error model, nothing changes
	for _, w := range []struct{ method, path string }{
		{"POST", "/namespaces"}, {"DELETE", "/namespaces/shop"}, {"POST", "/namespaces/shop/properties"},
		{"POST", "/namespaces/shop/tables"}, {"POST", "/namespaces/shop/tables/orders"}, {"DELETE", "/namespaces/shop/tables/orders"},
		{"POST", "/tables/rename"}, {"POST", "/transactions/commit"}, {"PUT", "/namespaces/shop"},
	} {
		a := icebergDo(t, w.method, base+w.path, nil)
		a.wantError(t, 405, "UnsupportedOperationException", "read-only")
		if a.header.Get("Allow") != "GET, HEAD" {
			t.Fatalf("%s %s: Allow %q", w.method, w.path, a.header.Get("Allow"))
		}
	}
	if names, err := cat.ListTables(ctx, "shop"); err != nil || len(names) != 2 {
		t.Fatalf("tables after the writes: %v %v", names, err)
	}
	icebergDo(t, "GET", hs.URL+PathIceberg+"/v2/config", nil).wantError(t, 404, "NoSuchEndpointException", "/iceberg/v1/")
	icebergDo(t, "GET", base+"/namespaces/shop/tables/orders/credentials", nil).wantError(t, 404, "NoSuchEndpointException", "read-only")

	// every request counted
	if v := counterOf(t, srv, "load_table", "200"); v != 1 {
		t.Fatalf("load_table 200 counted %v times", v)
	}
	if v := counterOf(t, srv, "write", "405"); v != 9 {
		t.Fatalf("writes counted %v times", v)
	}
}

// counterOf is silt_iceberg_requests_total{operation, code} as scraped.
func counterOf(t *testing.T, srv *Server, op, code string) float64 {
	t.Helper()
	mfs, err := srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "silt_iceberg_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["operation"] == op && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

// The handler answers any path and query without panicking, always in the
// error model (or a success), and never changes the warehouse.
func FuzzIcebergRequest(f *testing.F) {
	for _, s := range []string{"v1/config", "v1/namespaces?pageSize=1&pageToken=a", "v1/namespaces/shop/tables/orders",
		"v1/namespaces/a%1Fb/tables", "v1/namespaces/%zz", "v2", "/v1//namespaces", "v1/namespaces?parent=%00"} {
		f.Add("GET", s)
		f.Add("POST", s)
	}
	ctx := context.Background()
	cat := catalog.New(objstore.NewMem(), "", table.Env{})
	if err := cat.CreateDatabase(ctx, "shop", false); err != nil {
		f.Fatal(err)
	}
	if _, err := cat.CreateTable(ctx, "shop", "orders", &types.Schema{Fields: []types.Field{{Name: "id", Type: types.TBigInt}},
		PrimaryKeys: []string{"id"}}, false); err != nil {
		f.Fatal(err)
	}
	cfg, err := Load(Sources{})
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(Options{Config: cfg, Catalog: cat, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, method, target string) {
		if method != "GET" && method != "HEAD" && method != "POST" && method != "DELETE" {
			method = "GET"
		}
		req, err := http.NewRequest(method, "http://x"+PathIceberg+"/"+target, nil)
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if method == "HEAD" || rec.Code == 204 || rec.Code == 304 || (rec.Code >= 300 && rec.Code < 400) {
			return // no body; or the mux's redirect to a clean path
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %q", method, target, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 {
			if e, ok := body["error"].(map[string]any); !ok || e["code"] != float64(rec.Code) {
				t.Fatalf("%s %s: %d without the error model: %s", method, target, rec.Code, rec.Body.String())
			}
		}
	})
}

func TestIcebergS3Hints(t *testing.T) {
	for _, tc := range []struct {
		cfg  objstore.S3Config
		want string
	}{
		{objstore.S3Config{Endpoint: "minio:9000", PathStyle: true, Region: "us-east-1", Bucket: "b"},
			"map[client.region:us-east-1 s3.endpoint:http://minio:9000 s3.force-virtual-addressing:false s3.path-style-access:true s3.region:us-east-1]"},
		{objstore.S3Config{Endpoint: "s3.example.com", Secure: true, Bucket: "b"},
			"map[s3.endpoint:https://s3.example.com s3.force-virtual-addressing:true s3.path-style-access:false]"},
		{objstore.S3Config{Region: "eu-west-1", Bucket: "b", Profile: "prod", CredentialsFile: "/secret/creds"}, // AWS
			"map[client.region:eu-west-1 s3.force-virtual-addressing:true s3.path-style-access:false s3.region:eu-west-1]"},
	} {
		h := IcebergS3Hints(tc.cfg)
		if got := fmt.Sprint(h); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.cfg, got, tc.want)
		}
		for k := range h {
			if !icebergHintKeys[k] {
				t.Errorf("hint %s is not in the allow-list the config answer filters by", k)
			}
		}
	}
}
