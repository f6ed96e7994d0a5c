package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/server"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// openWarehouse opens the catalog named by the --warehouse flag or
// SILT_WAREHOUSE: "s3://bucket/prefix" or a local directory (created if
// missing).
func (a *app) openWarehouse(ctx context.Context) (*catalog.Catalog, error) {
	uri := a.g.warehouse
	if uri == "" {
		return nil, fmt.Errorf("%w: no warehouse: pass --warehouse DIR|s3://bucket/prefix or set SILT_WAREHOUSE", errUsage)
	}
	store, root, err := a.openStore(ctx, uri)
	if err != nil {
		return nil, err
	}
	if err := a.openCache(ctx); err != nil {
		return nil, err
	}
	hot := a.wrapCache(objstore.NewRetry(store, objstore.RetryOptions{}), "hot")
	return catalog.New(hot, root, a.withTiers(a.withMetaCache(a.withLookupIndex(table.Env{}, uri), uri))), nil
}

func (a *app) openStore(ctx context.Context, uri string) (objstore.Store, string, error) {
	if strings.HasPrefix(uri, "s3://") {
		cfg, err := objstore.ParseS3URI(uri)
		if err != nil {
			return nil, "", fmt.Errorf("warehouse %q: %w", uri, err)
		}
		cfg.Endpoint = a.getenv("SILT_S3_ENDPOINT")
		cfg.Region = firstNonEmpty(a.getenv("SILT_S3_REGION"), a.getenv("AWS_REGION"), "us-east-1")
		cfg.Secure = !isTrue(a.getenv("SILT_S3_INSECURE"))
		cfg.PathStyle = cfg.Endpoint != "" || isTrue(a.getenv("SILT_S3_PATH_STYLE"))
		if v := a.getenv("SILT_S3_PATH_STYLE"); v != "" {
			cfg.PathStyle = isTrue(v)
		}
		s3, err := objstore.NewS3(ctx, cfg)
		if err != nil {
			return nil, "", fmt.Errorf("warehouse %q: %w", uri, err)
		}
		// The S3 store applies the warehouse prefix to every key itself.
		if err := a.ensureBucket(ctx, s3); err != nil {
			return nil, "", err
		}
		return s3, "", nil
	}
	if strings.Contains(uri, "://") {
		return nil, "", fmt.Errorf("%w: warehouse %q: unsupported scheme (use a local path or s3://bucket/prefix)", types.ErrInvalid, uri)
	}
	dir, err := filepath.Abs(uri)
	if err != nil {
		return nil, "", fmt.Errorf("warehouse %q: %w", uri, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", fmt.Errorf("warehouse %q: %w", uri, err)
	}
	st, err := objstore.NewLocal(dir)
	if err != nil {
		return nil, "", fmt.Errorf("warehouse %q: %w", uri, err)
	}
	return st, "", nil
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
func (a *app) ensureBucket(ctx context.Context, s3 *objstore.S3) error {
	if isTrue(a.getenv("SILT_S3_CREATE_BUCKET")) {
		if err := s3.EnsureBucket(ctx); err != nil {
			return fmt.Errorf("warehouse bucket %s: %w", s3.Config().Bucket, err)
		}
		return nil
	}
	ok, err := s3.BucketExists(ctx)
	if err != nil {
		return fmt.Errorf("warehouse bucket %s: %w", s3.Config().Bucket, err)
	}
	if !ok {
		return fmt.Errorf("%w: warehouse bucket %s does not exist (create it, or set SILT_S3_CREATE_BUCKET=true)", types.ErrNotFound, s3.Config().Bucket)
	}
	return nil
}
