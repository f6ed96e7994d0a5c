package server

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	icetable "github.com/apache/iceberg-go/table"
)

// iceberg-go's own REST client speaks to the catalog: it lists the
// namespaces and tables, checks existence with HEAD, loads a table's
// metadata as published, gets the hints, and refuses writes because the
// catalog does not advertise them.
func TestIcebergCatalogWithIcebergGoClient(t *testing.T) {
	ctx := context.Background()
	cat := memWarehouse(t, 1)
	tb, err := cat.LoadTable(ctx, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateTable(ctx, "shop", "plain", tb.Schema(), false); err != nil {
		t.Fatal(err)
	}
	sc := iceberg.NewSchemaWithIdentifiers(0, []int{1},
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "v", Type: iceberg.PrimitiveTypes.String})
	md, err := icetable.NewMetadata(sc, iceberg.UnpartitionedSpec, icetable.UnsortedSortOrder, "s3://bucket/shop.db/orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	mdJSON, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	const loc = "s3://bucket/shop.db/orders/metadata/00001.metadata.json"
	hints := map[string]string{"s3.endpoint": "http://127.0.0.1:1", "s3.region": "eu-west-1", "s3.secret-access-key": "SECRET"}
	_, hs := icebergTestServer(t, cat, hints, map[string][2]string{tb.Root(): {loc, string(mdJSON)}})

	rc, err := rest.NewCatalog(ctx, "silt", hs.URL+PathIceberg)
	if err != nil {
		t.Fatal(err)
	}
	nss, err := rc.ListNamespaces(ctx, nil)
	if err != nil || len(nss) != 1 || strings.Join(nss[0], ".") != "shop" {
		t.Fatalf("namespaces %v %v", nss, err)
	}
	if ok, err := rc.CheckNamespaceExists(ctx, icetable.Identifier{"shop"}); !ok || err != nil {
		t.Fatalf("shop exists: %v %v", ok, err)
	}
	if ok, err := rc.CheckNamespaceExists(ctx, icetable.Identifier{"nope"}); ok || err != nil {
		t.Fatalf("nope exists: %v %v", ok, err)
	}
	var names []string
	for id, err := range rc.ListTables(ctx, icetable.Identifier{"shop"}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, strings.Join(id, "."))
	}
	if strings.Join(names, ",") != "shop.orders,shop.plain" {
		t.Fatalf("tables %v", names)
	}
	if ok, err := rc.CheckTableExists(ctx, icetable.Identifier{"shop", "orders"}); !ok || err != nil {
		t.Fatalf("orders exists: %v %v", ok, err)
	}
	if ok, err := rc.CheckTableExists(ctx, icetable.Identifier{"shop", "plain"}); ok || err != nil {
		t.Fatalf("unpublished plain exists: %v %v", ok, err)
	}
	lt, err := rc.LoadTable(ctx, icetable.Identifier{"shop", "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if lt.MetadataLocation() != loc || !lt.Schema().Equals(sc) || lt.Metadata().TableUUID() != md.TableUUID() {
		t.Fatalf("loaded %s %v %v", lt.MetadataLocation(), lt.Schema(), lt.Metadata().TableUUID())
	}
	if p := lt.Properties(); p["s3.secret-access-key"] != "" {
		t.Fatalf("a credential reached the client: %v", p)
	}
	_, err = rc.LoadTable(ctx, icetable.Identifier{"shop", "plain"})
	if !errors.Is(err, icecat.ErrNoSuchTable) || !strings.Contains(err.Error(), "'metadata.iceberg.enabled' = 'true'") {
		t.Fatalf("unpublished table: %v", err)
	}
	if err := rc.CreateNamespace(ctx, icetable.Identifier{"x"}, nil); !errors.Is(err, rest.ErrEndpointNotSupported) {
		t.Fatalf("create namespace: %v", err)
	}
	if err := rc.DropTable(ctx, icetable.Identifier{"shop", "orders"}); !errors.Is(err, rest.ErrEndpointNotSupported) {
		t.Fatalf("drop table: %v", err)
	}
}
