package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// withTiers gives tables the warehouse's cold tier (--cold-uri, env
// SILT_COLD_URI) and a way to open the store a table's tier.cold.uri
// names.
func (a *app) withTiers(env table.Env) table.Env {
	env.OpenStore = a.openTierStore
	if env.ColdURI == "" {
		env.ColdURI = a.g.coldURI
	}
	return env
}

// openTierStore opens a cold tier: "s3://bucket/prefix" (credentials and
// endpoint from the environment, like the warehouse; an optional
// "?storage-class=CLASS" suffix, which tables add for
// tier.cold.storage-class) or a local directory. The store is wrapped in
// retries and the disk cache (tier "cold"), like the warehouse's.
func (a *app) openTierStore(ctx context.Context, uri string) (objstore.Store, error) {
	base, _, _ := strings.Cut(uri, "?")
	if sameLocation(base, a.g.warehouse) {
		return nil, fmt.Errorf("%w: cold tier %q is the warehouse itself: a file's hot and cold copies would be one object", types.ErrInvalid, objstore.RedactURI(base))
	}
	if !strings.HasPrefix(uri, "s3://") {
		uri = base // a directory has no storage class
	}
	st, _, err := a.openStore(ctx, "cold tier", uri)
	if err != nil {
		return nil, err
	}
	ropts, err := a.retryOptions(st)
	if err != nil {
		return nil, err
	}
	return a.wrapCache(objstore.NewRetry(st, ropts), "cold"), nil
}

// sameLocation reports whether two store URIs name the same place.
func sameLocation(x, y string) bool {
	if x == "" || y == "" {
		return false
	}
	norm := func(u string) string {
		if strings.HasPrefix(u, "s3://") {
			return strings.TrimSuffix(u, "/")
		}
		if abs, err := filepath.Abs(u); err == nil {
			return abs
		}
		return u
	}
	return norm(x) == norm(y)
}
