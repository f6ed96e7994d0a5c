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
	st, _, err := a.openStoreWith(ctx, "cold tier", uri, a.coldS3Settings, true)
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

// coldS3Settings are the S3 settings of a cold tier: the warehouse's
// (s3Settings), except the endpoint SILT_COLD_S3_ENDPOINT and the
// credentials SILT_COLD_AWS_ACCESS_KEY_ID with
// SILT_COLD_AWS_SECRET_ACCESS_KEY (and SILT_COLD_AWS_SESSION_TOKEN), or
// the profile SILT_COLD_AWS_PROFILE of the shared credentials file, when
// set. Unset, the cold tier uses the warehouse's endpoint and credential
// chain. Keys never come from flags.
func (a *app) coldS3Settings(cfg *objstore.S3Config) error {
	if err := a.s3Settings(cfg); err != nil {
		return err
	}
	if ep := strings.TrimSpace(a.getenv("SILT_COLD_S3_ENDPOINT")); ep != "" {
		host, secure, hasScheme, err := objstore.ParseEndpoint(ep)
		if err != nil {
			return fmt.Errorf("SILT_COLD_S3_ENDPOINT: %w", err)
		}
		cfg.Endpoint = host
		if hasScheme {
			cfg.Secure = secure
		}
		cfg.PathStyle = true // a self-hosted service, like the warehouse's endpoint
		if v := a.getenv("SILT_S3_PATH_STYLE"); v != "" {
			cfg.PathStyle = isTrue(v)
		}
	}
	id, secret := a.getenv("SILT_COLD_AWS_ACCESS_KEY_ID"), a.getenv("SILT_COLD_AWS_SECRET_ACCESS_KEY")
	profile := strings.TrimSpace(a.getenv("SILT_COLD_AWS_PROFILE"))
	switch {
	case (id == "") != (secret == ""):
		return fmt.Errorf("%w: cold tier credentials: set both SILT_COLD_AWS_ACCESS_KEY_ID and SILT_COLD_AWS_SECRET_ACCESS_KEY, or neither (then the warehouse's credentials are used)", types.ErrInvalid)
	case id != "" && profile != "":
		return fmt.Errorf("%w: cold tier credentials: set SILT_COLD_AWS_ACCESS_KEY_ID or SILT_COLD_AWS_PROFILE, not both", types.ErrInvalid)
	case id != "":
		cfg.Credentials = objstore.StaticCredentials("SILT_COLD_AWS_ACCESS_KEY_ID", id, secret, a.getenv("SILT_COLD_AWS_SESSION_TOKEN"))
	case profile != "":
		cfg.Credentials = objstore.ProfileCredentials("", profile)
		cfg.Profile = profile
	}
	return nil
}
