package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/siltdb/silt/icebergview"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// The Iceberg REST catalog, read-only, under PathIceberg: engines that
// speak Iceberg (Trino, Spark, DuckDB, PyIceberg, iceberg-go) list silt's
// databases as namespaces and its tables, and load the Iceberg metadata
// that package icebergview publishes beside each table. The catalog URI is
// http://HOST:PORT/iceberg; the routes are those of the Iceberg REST
// specification without a {prefix}:
//
//	GET  /v1/config
//	GET  /v1/namespaces                       (?parent, ?pageToken, ?pageSize)
//	GET  /v1/namespaces/{namespace}           HEAD: exists
//	GET  /v1/namespaces/{namespace}/tables    (?pageToken, ?pageSize)
//	GET  /v1/namespaces/{namespace}/tables/{table}   HEAD: exists
//	GET  /v1/namespaces/{namespace}/views     (always empty; a view: 404)
//
// Every other method answers 405 (UnsupportedOperationException): tables
// are written with silt, never through the catalog. Errors are the
// specification's {"error":{"message","type","code"}}.

// PathIceberg is the base path of the Iceberg REST catalog.
const PathIceberg = "/iceberg"

// IcebergPublishOption is the table option that turns publication of
// Iceberg metadata on.
const IcebergPublishOption = table.OptIcebergEnabled

// icebergCurrentFunc reads a table's newest published Iceberg metadata
// (icebergview.Current).
type icebergCurrentFunc func(ctx context.Context, store objstore.Store, root string) (string, []byte, error)

// Operation labels of silt_iceberg_requests_total.
const (
	opConfig          = "config"
	opListNamespaces  = "list_namespaces"
	opLoadNamespace   = "load_namespace"
	opNamespaceExists = "namespace_exists"
	opListTables      = "list_tables"
	opLoadTable       = "load_table"
	opTableExists     = "table_exists"
	opListViews       = "list_views"
	opLoadView        = "load_view"
	opWrite           = "write"
	opUnknown         = "unknown"
)

// icebergEndpoints are the routes advertised by /v1/config, in the
// specification's "METHOD /v1/{prefix}/…" form: clients check them and
// refuse writes before sending them.
var icebergEndpoints = []string{
	"GET /v1/{prefix}/namespaces",
	"GET /v1/{prefix}/namespaces/{namespace}",
	"HEAD /v1/{prefix}/namespaces/{namespace}",
	"GET /v1/{prefix}/namespaces/{namespace}/tables",
	"GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
	"HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
	"GET /v1/{prefix}/namespaces/{namespace}/views",
	"GET /v1/{prefix}/namespaces/{namespace}/views/{view}",
	"HEAD /v1/{prefix}/namespaces/{namespace}/views/{view}",
}

// icebergErr is an error answer of the catalog.
type icebergErr struct {
	code    int
	typ     string // e.g. NoSuchTableException
	message string
}

func (e *icebergErr) Error() string { return e.typ + ": " + e.message }

func notFound(typ, format string, args ...any) *icebergErr {
	return &icebergErr{code: http.StatusNotFound, typ: typ, message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *icebergErr {
	return &icebergErr{code: http.StatusBadRequest, typ: "BadRequestException", message: fmt.Sprintf(format, args...)}
}

// storeFailure turns an error reading the warehouse into a 503 (the
// store's errors are transient or name what to fix; they hold no secrets).
func storeFailure(what string, err error) *icebergErr {
	return &icebergErr{code: http.StatusServiceUnavailable, typ: "ServiceUnavailableException",
		message: fmt.Sprintf("%s: %v", what, err)}
}

// icebergHandler serves PathIceberg and below, counting each request.
func (s *Server) icebergHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		op := s.serveIceberg(rec, r)
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		s.countIceberg(op, code)
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// serveIceberg answers one request and returns its operation label.
func (s *Server) serveIceberg(w http.ResponseWriter, r *http.Request) string {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeIcebergError(w, r, &icebergErr{code: http.StatusMethodNotAllowed, typ: "UnsupportedOperationException",
			message: fmt.Sprintf("%s %s: silt's Iceberg catalog is read-only; write to silt tables with silt (SQL, sinks, silt load)", r.Method, r.URL.Path)})
		return opWrite
	}
	segs, err := icebergPath(r.URL.EscapedPath())
	if err != nil {
		writeIcebergError(w, r, err)
		return opUnknown
	}
	ctx := r.Context()
	head := r.Method == http.MethodHead
	switch {
	case len(segs) == 1 && segs[0] == "config":
		s.icebergConfig(w)
		return opConfig
	case len(segs) == 1 && segs[0] == "namespaces":
		if err := s.listNamespaces(ctx, w, r.URL.Query()); err != nil {
			writeIcebergError(w, r, err)
		}
		return opListNamespaces
	case len(segs) == 2 && segs[0] == "namespaces":
		op := opLoadNamespace
		if head {
			op = opNamespaceExists
		}
		db, err := s.icebergNamespace(ctx, segs[1])
		switch {
		case err != nil:
			writeIcebergError(w, r, err)
		case head:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeIcebergJSON(w, http.StatusOK, map[string]any{"namespace": []string{db}, "properties": map[string]string{}})
		}
		return op
	case len(segs) == 3 && segs[0] == "namespaces" && segs[2] == "tables":
		if err := s.listTables(ctx, w, segs[1], r.URL.Query()); err != nil {
			writeIcebergError(w, r, err)
		}
		return opListTables
	case len(segs) == 4 && segs[0] == "namespaces" && segs[2] == "tables":
		op := opLoadTable
		if head {
			op = opTableExists
		}
		if err := s.loadIcebergTable(ctx, w, r, segs[1], segs[3], head); err != nil {
			writeIcebergError(w, r, err)
		}
		return op
	case len(segs) == 3 && segs[0] == "namespaces" && segs[2] == "views":
		if _, err := s.icebergNamespace(ctx, segs[1]); err != nil {
			writeIcebergError(w, r, err)
		} else {
			writeIcebergJSON(w, http.StatusOK, map[string]any{"identifiers": []any{}, "next-page-token": nil})
		}
		return opListViews
	case len(segs) == 4 && segs[0] == "namespaces" && segs[2] == "views":
		writeIcebergError(w, r, notFound("NoSuchViewException", "view %s does not exist: silt's Iceberg catalog has no views", segs[3]))
		return opLoadView
	}
	writeIcebergError(w, r, notFound("NoSuchEndpointException",
		"%s %s is not a route of silt's read-only Iceberg catalog (see GET %s/v1/config for its endpoints)", r.Method, r.URL.Path, PathIceberg))
	return opUnknown
}

// icebergPath splits the escaped request path below PathIceberg into its
// unescaped segments after "v1".
func icebergPath(escaped string) ([]string, *icebergErr) {
	rest := strings.TrimPrefix(escaped, PathIceberg)
	rest = strings.Trim(rest, "/")
	raw := strings.Split(rest, "/")
	if len(raw) < 2 || raw[0] != "v1" {
		return nil, notFound("NoSuchEndpointException", "%s: the Iceberg REST routes start with %s/v1/ (the catalog URI is http://HOST:PORT%s)",
			PathIceberg+"/"+rest, PathIceberg, PathIceberg)
	}
	segs := make([]string, 0, len(raw)-1)
	for _, p := range raw[1:] {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, badRequest("path segment %q is not URL-encoded correctly: %v", p, err)
		}
		segs = append(segs, u)
	}
	return segs, nil
}

func (s *Server) icebergConfig(w http.ResponseWriter) {
	defaults := map[string]string{}
	for k, v := range s.o.IcebergClientConfig {
		if icebergHintKeys[k] { // never anything else (credentials)
			defaults[k] = v
		}
	}
	writeIcebergJSON(w, http.StatusOK, map[string]any{"defaults": defaults, "overrides": map[string]string{}, "endpoints": icebergEndpoints})
}

// dbName checks a one-level namespace and returns it as a database name.
func dbName(ns string) (string, *icebergErr) {
	if strings.Contains(ns, "\x1f") {
		return "", notFound("NoSuchNamespaceException", "namespace %q does not exist: silt's namespaces are its databases, one level deep",
			strings.ReplaceAll(ns, "\x1f", "."))
	}
	if err := types.ValidateIdentifier("database", ns); err != nil {
		return "", notFound("NoSuchNamespaceException", "namespace %q does not exist: %v", ns, err)
	}
	return ns, nil
}

// icebergNamespace returns the database of an existing namespace.
func (s *Server) icebergNamespace(ctx context.Context, ns string) (string, *icebergErr) {
	db, ierr := dbName(ns)
	if ierr != nil {
		return "", ierr
	}
	ok, err := s.o.Catalog.DatabaseExists(ctx, db)
	if err != nil {
		return "", storeFailure("read namespace "+db, err)
	}
	if !ok {
		return "", notFound("NoSuchNamespaceException", "namespace %s does not exist (silt's namespaces are its databases: SHOW DATABASES)", db)
	}
	return db, nil
}

// page applies the specification's pageToken/pageSize to a sorted list:
// the token is the last name of the previous page.
func page(names []string, q url.Values) ([]string, any, *icebergErr) {
	if tok := q.Get("pageToken"); tok != "" {
		i := sort.SearchStrings(names, tok)
		if i < len(names) && names[i] == tok {
			i++
		}
		names = names[i:]
	}
	size := q.Get("pageSize")
	if size == "" {
		return names, nil, nil
	}
	n, err := strconv.Atoi(size)
	if err != nil || n < 1 {
		return nil, nil, badRequest("pageSize %q is not a positive number", size)
	}
	if len(names) <= n {
		return names, nil, nil
	}
	return names[:n], names[n-1], nil
}

func (s *Server) listNamespaces(ctx context.Context, w http.ResponseWriter, q url.Values) *icebergErr {
	if parent := q.Get("parent"); parent != "" {
		if _, err := s.icebergNamespace(ctx, parent); err != nil {
			return err
		}
		// Databases hold no namespaces.
		writeIcebergJSON(w, http.StatusOK, map[string]any{"namespaces": [][]string{}, "next-page-token": nil})
		return nil
	}
	dbs, err := s.o.Catalog.ListDatabases(ctx)
	if err != nil {
		return storeFailure("list namespaces", err)
	}
	dbs, next, ierr := page(dbs, q)
	if ierr != nil {
		return ierr
	}
	out := make([][]string, len(dbs))
	for i, db := range dbs {
		out[i] = []string{db}
	}
	writeIcebergJSON(w, http.StatusOK, map[string]any{"namespaces": out, "next-page-token": next})
	return nil
}

type icebergIdent struct {
	Namespace []string `json:"namespace"`
	Name      string   `json:"name"`
}

// listTables lists every table of the database, published or not: a
// table without Iceberg metadata answers a load with how to enable it.
func (s *Server) listTables(ctx context.Context, w http.ResponseWriter, ns string, q url.Values) *icebergErr {
	db, ierr := s.icebergNamespace(ctx, ns)
	if ierr != nil {
		return ierr
	}
	names, err := s.o.Catalog.ListTables(ctx, db)
	if err != nil {
		if errors.Is(err, types.ErrNotFound) {
			return notFound("NoSuchNamespaceException", "namespace %s does not exist", db)
		}
		return storeFailure("list tables of "+db, err)
	}
	names, next, ierr := page(names, q)
	if ierr != nil {
		return ierr
	}
	out := make([]icebergIdent, len(names))
	for i, n := range names {
		out[i] = icebergIdent{Namespace: []string{db}, Name: n}
	}
	writeIcebergJSON(w, http.StatusOK, map[string]any{"identifiers": out, "next-page-token": next})
	return nil
}

// loadTableResult is the specification's LoadTableResult. The metadata is
// passed through as icebergview published it.
type loadTableResult struct {
	MetadataLocation string            `json:"metadata-location"`
	Metadata         json.RawMessage   `json:"metadata"`
	Config           map[string]string `json:"config"`
}

func (s *Server) loadIcebergTable(ctx context.Context, w http.ResponseWriter, r *http.Request, ns, name string, head bool) *icebergErr {
	db, ierr := s.icebergNamespace(ctx, ns)
	if ierr != nil {
		return ierr
	}
	if err := types.ValidateIdentifier("table", name); err != nil {
		return notFound("NoSuchTableException", "table %s.%s does not exist: %v", db, name, err)
	}
	t, err := s.o.Catalog.LoadTable(ctx, db, name)
	if err != nil {
		if errors.Is(err, types.ErrNotFound) {
			return notFound("NoSuchTableException", "table %s.%s does not exist (SHOW TABLES IN %s)", db, name, db)
		}
		return storeFailure("load table "+db+"."+name, err)
	}
	loc, meta, err := s.icebergCurrent(ctx, t.Store(), t.Root())
	if err != nil {
		if errors.Is(err, icebergview.ErrNotPublished) {
			q := db + "." + name
			if o := t.Options().Iceberg; o.Set && o.Enabled {
				return notFound("NoSuchTableException", "table %s has no Iceberg metadata yet: %s is on and the metadata is written after the table's next commit", q, IcebergPublishOption)
			}
			return notFound("NoSuchTableException", "table %s has no Iceberg metadata: enable it with ALTER TABLE %s SET ('%s' = 'true')", q, q, IcebergPublishOption)
		}
		if errors.Is(err, types.ErrCorruption) {
			return &icebergErr{code: http.StatusInternalServerError, typ: "ServiceFailureException",
				message: fmt.Sprintf("the Iceberg metadata of %s.%s is damaged: %v", db, name, err)}
		}
		return storeFailure("read the Iceberg metadata of "+db+"."+name, err)
	}
	if head {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	// A metadata file is immutable: its location identifies the answer.
	sum := sha256.Sum256([]byte(loc))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	body, err := json.Marshal(loadTableResult{MetadataLocation: loc, Metadata: meta, Config: map[string]string{}})
	if err != nil {
		return &icebergErr{code: http.StatusInternalServerError, typ: "ServiceFailureException",
			message: fmt.Sprintf("the published Iceberg metadata of %s.%s at %s is not valid JSON: %v", db, name, loc, err)}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

func writeIcebergJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only maps and slices of strings: cannot happen
		code, body = http.StatusInternalServerError, []byte(`{"error":{"message":"encoding the answer failed","type":"ServiceFailureException","code":500}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeIcebergError writes the specification's IcebergErrorResponse (HEAD
// answers carry the status only).
func writeIcebergError(w http.ResponseWriter, r *http.Request, e *icebergErr) {
	if r.Method == http.MethodHead {
		w.WriteHeader(e.code)
		return
	}
	writeIcebergJSON(w, e.code, map[string]any{"error": map[string]any{"message": e.message, "type": e.typ, "code": e.code}})
}

// countIceberg counts one request for silt_iceberg_requests_total.
func (s *Server) countIceberg(op string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.icebergRequests == nil {
		s.icebergRequests = map[[2]string]int64{}
	}
	s.icebergRequests[[2]string{op, strconv.Itoa(code)}]++
}
