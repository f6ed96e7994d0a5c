package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/icebergview"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/server"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// openWarehouse opens the existing warehouse named by the --warehouse flag
// or SILT_WAREHOUSE: "s3://bucket/prefix" or a local directory. Opening
// writes nothing; a location that holds no warehouse is an error that
// names it and how to create one, so that a mistyped path or prefix never
// becomes a new, empty warehouse.
func (a *app) openWarehouse(ctx context.Context) (*catalog.Catalog, error) {
	return a.openWarehouseMode(ctx, false)
}

// createWarehouse opens the warehouse, creating its directory (or, with
// SILT_S3_CREATE_BUCKET=true, its bucket) when missing: for the commands
// that create what they write (silt init, demo, serve, and SQL scripts
// with a CREATE statement).
func (a *app) createWarehouse(ctx context.Context) (*catalog.Catalog, error) {
	return a.openWarehouseMode(ctx, true)
}

func (a *app) openWarehouseMode(ctx context.Context, create bool) (*catalog.Catalog, error) {
	uri := a.g.warehouse
	if uri == "" {
		return nil, fmt.Errorf("%w: no warehouse: pass --warehouse DIR|s3://bucket/prefix or set SILT_WAREHOUSE (create one with 'silt init DIR')", errUsage)
	}
	if err := a.openCache(ctx); err != nil { // settings errors before the warehouse's
		return nil, err
	}
	store, root, err := a.openStoreWith(ctx, "warehouse", uri, a.s3Settings, create)
	if errors.Is(err, types.ErrNotFound) && !create && !strings.HasPrefix(uri, "s3://") {
		return nil, a.noWarehouse(err)
	}
	if err != nil {
		return nil, err
	}
	if !create {
		dbs, err := catalog.New(store, root, table.Env{}).ListDatabases(ctx)
		if err != nil {
			return nil, fmt.Errorf("warehouse %q: %w", objstore.RedactURI(uri), err)
		}
		if len(dbs) == 0 {
			return nil, a.noWarehouse(errors.New("it holds no database"))
		}
	}
	ropts, err := a.retryOptions(store)
	if err != nil {
		return nil, err
	}
	hot := a.wrapCache(objstore.NewRetry(store, ropts), "hot")
	env := a.withTiers(a.withMetaCache(a.withLookupIndex(table.Env{}, uri), uri))
	env.OnStall = a.onStall
	env.OnNotice = a.onceNotices()
	env.AfterChange = a.icebergPublisher(uri).Hook()
	a.openedWarehouse = objstore.RedactURI(uri)
	return catalog.New(hot, root, env), nil
}

// noWarehouse is the error of a read on a location that holds no
// warehouse: which location, where it came from, and how to create one.
func (a *app) noWarehouse(cause error) error {
	from := "--warehouse"
	if a.g.warehouse == a.getenv("SILT_WAREHOUSE") {
		from = "SILT_WAREHOUSE"
	}
	shown := objstore.RedactURI(a.g.warehouse)
	return fmt.Errorf("%w: no warehouse at %s=%s: %s (check the path, or create one: silt init %s)",
		types.ErrNotFound, from, shown, noWarehouseCause(cause), shown)
}

func noWarehouseCause(err error) string {
	msg := err.Error()
	if errors.Is(err, types.ErrNotFound) {
		// "not found: local store /abs: no such directory" -> "/abs: no such directory"
		if i := strings.Index(msg, "local store "); i >= 0 {
			msg = msg[i+len("local store "):]
		}
	}
	return msg
}

// icebergPublisher publishes the Iceberg view of the warehouse's tables
// (metadata.iceberg.enabled, default --iceberg) after every commit. A
// failed publication never fails the commit: it is reported as a notice
// and the next commit catches up.
func (a *app) icebergPublisher(uri string) *icebergview.Publisher {
	base := ""
	if strings.HasPrefix(uri, "s3://") {
		if cfg, err := objstore.ParseS3URI(uri); err == nil {
			base = icebergview.S3Base(cfg.Bucket, cfg.Prefix)
		}
	} else if dir, err := filepath.Abs(uri); err == nil {
		base = icebergview.LocalBase(dir)
	}
	pub := &icebergview.Publisher{Base: base, Default: a.g.iceberg, Async: true, OnError: func(name string, err error) {
		a.notice(fmt.Sprintf("iceberg view of %s not published: %s (the next commit catches up)", name, oneLine(err)))
	}}
	// Publications run beside the commits; the process waits for them
	// before it exits.
	a.onClose(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		return pub.Wait(ctx)
	})
	return pub
}

// onceNotices returns a notice printer that prints each distinct notice
// once (a query may scan a table more than once). It remembers up to
// maxNoticesSeen notices, then starts over: a long-running serve repeats
// a notice rather than grow without bound.
func (a *app) onceNotices() func(string) {
	const maxNoticesSeen = 1024
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(msg string) {
		mu.Lock()
		first := !seen[msg]
		if first && len(seen) >= maxNoticesSeen {
			clear(seen)
		}
		seen[msg] = true
		mu.Unlock()
		if first {
			a.notice(msg)
		}
	}
}

// openStore opens the store a URI names ("what" says which, for errors):
// "s3://bucket/prefix", with the S3 settings of the environment, or a
// local directory. URIs holding credentials are rejected, and errors
// quote URIs redacted.
func (a *app) openStore(ctx context.Context, what, uri string) (objstore.Store, string, error) {
	return a.openStoreWith(ctx, what, uri, a.s3Settings, true)
}

// openStoreWith is openStore with the S3 settings of settings (the
// warehouse's, or the cold tier's). Without create, a missing directory
// or bucket is types.ErrNotFound and nothing is created.
func (a *app) openStoreWith(ctx context.Context, what, uri string, settings func(*objstore.S3Config) error, create bool) (objstore.Store, string, error) {
	if err := objstore.CheckNoCredentials(what, uri); err != nil {
		return nil, "", err
	}
	if err := checkLocation(what, uri); err != nil {
		return nil, "", err
	}
	shown := objstore.RedactURI(uri)
	if strings.HasPrefix(uri, "s3://") {
		cfg, err := objstore.ParseS3URI(uri)
		if err != nil {
			return nil, "", fmt.Errorf("%s %q: %w", what, shown, err)
		}
		if err := settings(&cfg); err != nil {
			return nil, "", err
		}
		s3, err := objstore.NewS3(ctx, cfg)
		if err != nil {
			return nil, "", fmt.Errorf("%s %q: %w", what, shown, err)
		}
		a.watchS3(ctx)
		// The S3 store applies the warehouse prefix to every key itself.
		ropts, err := a.retryOptions(s3)
		if err != nil {
			return nil, "", err
		}
		r := objstore.NewRetry(s3, ropts)
		if err := r.Do(ctx, "check bucket", cfg.Bucket, func(ctx context.Context) error { return a.ensureBucket(ctx, what, s3, create) }); err != nil {
			return nil, "", err
		}
		return s3, "", nil
	}
	if strings.Contains(uri, "://") {
		return nil, "", fmt.Errorf("%w: %s %q: unsupported scheme (use a local path or s3://bucket/prefix)", types.ErrInvalid, what, shown)
	}
	dir, err := filepath.Abs(uri)
	if err != nil {
		return nil, "", fmt.Errorf("%s %q: %w", what, shown, err)
	}
	if !create {
		st, err := objstore.OpenLocal(dir)
		if err != nil {
			return nil, "", fmt.Errorf("%s %q: %w", what, shown, err)
		}
		a.onClose(st.Close) // its lock files (it stays usable after)
		return st, "", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", fmt.Errorf("%s %q: %w", what, shown, err)
	}
	st, err := objstore.NewLocal(dir)
	if err != nil {
		return nil, "", fmt.Errorf("%s %q: %w", what, shown, err)
	}
	a.onClose(st.Close)
	return st, "", nil
}

// s3Settings fills in the S3 client settings from the environment (the
// "s3-*" settings of silt serve): the endpoint (SILT_S3_ENDPOINT, else
// AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL; host:port or
// http(s)://host:port), region, TLS, addressing, the request time budget
// and the credentials profile.
func (a *app) s3Settings(cfg *objstore.S3Config) error {
	ep, from := a.getenv("SILT_S3_ENDPOINT"), "SILT_S3_ENDPOINT"
	for _, k := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
		if ep == "" {
			ep, from = a.getenv(k), k
		}
	}
	host, secure, hasScheme, err := objstore.ParseEndpoint(ep)
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	cfg.Endpoint = host
	cfg.Region = firstNonEmpty(a.getenv("SILT_S3_REGION"), a.getenv("AWS_REGION"), "us-east-1")
	cfg.Secure = !isTrue(a.getenv("SILT_S3_INSECURE"))
	if hasScheme {
		cfg.Secure = secure // the scheme says it
	}
	cfg.PathStyle = cfg.Endpoint != "" || isTrue(a.getenv("SILT_S3_PATH_STYLE"))
	if v := a.getenv("SILT_S3_PATH_STYLE"); v != "" {
		cfg.PathStyle = isTrue(v)
	}
	cfg.Profile = a.getenv("AWS_PROFILE")
	if v := strings.TrimSpace(a.getenv("SILT_S3_REQUEST_TIMEOUT")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%w: SILT_S3_REQUEST_TIMEOUT %q is not a positive duration (e.g. 15s, 1m)", types.ErrInvalid, v)
		}
		cfg.RequestTimeout = d
	}
	if v := strings.TrimSpace(a.getenv("SILT_S3_MIN_THROUGHPUT")); v != "" {
		n, err := table.ParseSize("SILT_S3_MIN_THROUGHPUT", v)
		if err != nil || n <= 0 {
			return fmt.Errorf("%w: SILT_S3_MIN_THROUGHPUT %q is not a positive size per second (e.g. 1mb, 512kb)", types.ErrInvalid, v)
		}
		cfg.MinThroughput = n
	}
	return a.sseSettings(cfg)
}

// sseSettings fills in server-side encryption: SILT_S3_SSE (s3 or kms),
// SILT_S3_SSE_KMS_KEY_ID and SILT_S3_SSE_KMS_CONTEXT.
func (a *app) sseSettings(cfg *objstore.S3Config) error {
	sse, err := objstore.ParseSSE("SILT_S3_SSE", a.getenv("SILT_S3_SSE"))
	if err != nil {
		return err
	}
	keyID := strings.TrimSpace(a.getenv("SILT_S3_SSE_KMS_KEY_ID"))
	kmsCtx := strings.TrimSpace(a.getenv("SILT_S3_SSE_KMS_CONTEXT"))
	if sse != objstore.SSEKMS && (keyID != "" || kmsCtx != "") {
		return fmt.Errorf("%w: SILT_S3_SSE_KMS_KEY_ID and SILT_S3_SSE_KMS_CONTEXT need SILT_S3_SSE=kms (got %q)", types.ErrInvalid, a.getenv("SILT_S3_SSE"))
	}
	if _, err := objstore.ParseSSEKMSContext("SILT_S3_SSE_KMS_CONTEXT", kmsCtx); err != nil {
		return err
	}
	cfg.SSE, cfg.SSEKMSKeyID, cfg.SSEKMSContext = sse, keyID, kmsCtx
	return nil
}

// retryOptions are the retry settings of a store: SILT_S3_MAX_ATTEMPTS,
// and for S3 stores the tracker of operations in flight.
func (a *app) retryOptions(st objstore.Store) (objstore.RetryOptions, error) {
	var o objstore.RetryOptions
	if v := strings.TrimSpace(a.getenv("SILT_S3_MAX_ATTEMPTS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return o, fmt.Errorf("%w: SILT_S3_MAX_ATTEMPTS %q is not a number in 1..100", types.ErrInvalid, v)
		}
		o.MaxAttempts = n
	}
	if _, ok := st.(*objstore.S3); ok {
		o.InFlight = a.s3Waits()
	}
	return o, nil
}

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// splitTableName splits "db.t" or "t" (default database).
func splitTableName(name string) (string, string, error) {
	return server.SplitTableName(name)
}

// ensureBucket checks that the warehouse bucket exists. With
// SILT_S3_CREATE_BUCKET=true a missing bucket is created (handy for a fresh
// MinIO); otherwise it is a clear error rather than a silent create.
func (a *app) ensureBucket(ctx context.Context, what string, s3 *objstore.S3, create bool) error {
	if create && isTrue(a.getenv("SILT_S3_CREATE_BUCKET")) {
		if err := s3.EnsureBucket(ctx); err != nil {
			return fmt.Errorf("%s bucket %s: %w", what, s3.Config().Bucket, err)
		}
		return nil
	}
	ok, err := s3.BucketExists(ctx)
	var proto *objstore.ProtocolError
	if errors.As(err, &proto) {
		return fmt.Errorf("%s bucket %s: %w (%s)", what, s3.Config().Bucket, err, a.protocolHint(what, proto))
	}
	if err != nil {
		hint := ""
		if errors.Is(err, objstore.ErrAccessDenied) {
			hint = " (check that the credentials may use this bucket"
			if what == "cold tier" {
				hint += "; SILT_COLD_AWS_* give the cold tier its own"
			}
			hint += ")"
		}
		return fmt.Errorf("%s bucket %s: %w%s", what, s3.Config().Bucket, err, hint)
	}
	if !ok {
		hint := "create it, or set SILT_S3_CREATE_BUCKET=true"
		if !create {
			hint = "check the bucket name; create it, or run 'silt init' with SILT_S3_CREATE_BUCKET=true"
		}
		return fmt.Errorf("%w: %s bucket %s does not exist (%s)", types.ErrNotFound, what, s3.Config().Bucket, hint)
	}
	return nil
}

// protocolHint names the setting that fixes a protocol mismatch with the
// S3 endpoint.
func (a *app) protocolHint(what string, e *objstore.ProtocolError) string {
	v := "SILT_S3_ENDPOINT"
	if what == "cold tier" {
		v = "SILT_COLD_S3_ENDPOINT"
	}
	if e.EndpointTLS {
		hint := fmt.Sprintf("set %s=https://%s", v, e.Endpoint)
		if isTrue(a.getenv("SILT_S3_INSECURE")) {
			hint += " and unset SILT_S3_INSECURE"
		}
		return hint
	}
	return fmt.Sprintf("set %s=http://%s, or SILT_S3_INSECURE=true", v, e.Endpoint)
}
