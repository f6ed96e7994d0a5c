package main

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/s3test"
)

// `silt serve` on an S3 warehouse serves the Iceberg REST catalog on its
// listen address: the config hints name the endpoint silt uses (never its
// keys), the databases and tables are listed, writes are refused, and the
// requests are counted in /metrics.
func TestServeIcebergCatalog(t *testing.T) {
	store := s3test.NewStore(t)
	ep := os.Getenv("SILT_TEST_S3_ENDPOINT")
	env := []string{
		"SILT_WAREHOUSE=s3://" + store.Config().Bucket + "/wh",
		"SILT_S3_ENDPOINT=" + ep,
		"SILT_S3_INSECURE=true",
	}
	mustSilt(t, env, "", "sql", "CREATE DATABASE app; CREATE TABLE app.orders (id BIGINT, v STRING, PRIMARY KEY (id)); INSERT INTO app.orders VALUES (1, 'a')")
	p := startServe(t, env, "--listen", "127.0.0.1:0", "--compact-interval", "0", "--maintain-interval", "0")

	code, body := p.get("/iceberg/v1/config")
	if code != http.StatusOK || !strings.Contains(body, `"s3.endpoint":"http://`+ep+`"`) || !strings.Contains(body, `"s3.path-style-access":"true"`) {
		t.Fatalf("config: %d %s", code, body)
	}
	for _, secret := range []string{os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")} {
		if secret != "" && strings.Contains(body, secret) {
			t.Fatalf("config answer holds a credential: %s", body)
		}
	}
	if code, body := p.get("/iceberg/v1/namespaces"); code != http.StatusOK || !strings.Contains(body, `["app"]`) {
		t.Fatalf("namespaces: %d %s", code, body)
	}
	if code, body := p.get("/iceberg/v1/namespaces/app/tables"); code != http.StatusOK || !strings.Contains(body, `"name":"orders"`) {
		t.Fatalf("tables: %d %s", code, body)
	}
	if code, body := p.get("/iceberg/v1/namespaces/app/tables/orders"); code != http.StatusNotFound ||
		!strings.Contains(body, "ALTER TABLE app.orders SET ('metadata.iceberg.enabled' = 'true')") {
		t.Fatalf("load of an unpublished table: %d %s", code, body)
	}
	// Enabled and committed by another silt process: served at once.
	mustSilt(t, env, "", "sql", "ALTER TABLE app.orders SET ('metadata.iceberg.enabled' = 'true'); INSERT INTO app.orders VALUES (2, 'b')")
	loc := `"metadata-location":"s3://` + store.Config().Bucket + `/wh/app.db/orders/`
	if code, body := p.get("/iceberg/v1/namespaces/app/tables/orders"); code != http.StatusOK || !strings.Contains(body, loc) {
		t.Fatalf("load of the published table: %d %.400s", code, body)
	}
	resp, err := http.Post(p.base+"/iceberg/v1/namespaces", "application/json", strings.NewReader(`{"namespace":["x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("create namespace: %d", resp.StatusCode)
	}
	text := p.scrape()
	if v := mustMetric(t, text, "silt_iceberg_requests_total", `operation="write"`, `code="405"`); v != 1 {
		t.Fatalf("refused writes counted %v times", v)
	}
	if v := mustMetric(t, text, "silt_iceberg_requests_total", `operation="load_table"`, `code="404"`); v != 1 {
		t.Fatalf("404 loads counted %v times", v)
	}
}
