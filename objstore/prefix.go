package objstore

import (
	"context"
	"strings"
)

// Prefix namespaces a Store: key k is stored as prefix + "/" + k, and
// List returns keys with the prefix stripped off again.
type Prefix struct {
	inner  Store
	prefix string // "" or ends with '/'
}

// NewPrefix wraps inner. Leading and trailing slashes of prefix are
// ignored; an empty prefix passes keys through unchanged.
func NewPrefix(inner Store, prefix string) *Prefix {
	return &Prefix{inner: inner, prefix: normPrefix(prefix)}
}

func (p *Prefix) Get(ctx context.Context, key string) ([]byte, ObjectInfo, error) {
	data, info, err := p.inner.Get(ctx, p.prefix+key)
	info.Key = key
	return data, info, err
}

func (p *Prefix) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	return p.inner.GetRange(ctx, p.prefix+key, off, length)
}

func (p *Prefix) Put(ctx context.Context, key string, data []byte) (ObjectInfo, error) {
	return p.fix(key)(p.inner.Put(ctx, p.prefix+key, data))
}

func (p *Prefix) PutIfAbsent(ctx context.Context, key string, data []byte) (ObjectInfo, error) {
	return p.fix(key)(p.inner.PutIfAbsent(ctx, p.prefix+key, data))
}

func (p *Prefix) PutIfMatch(ctx context.Context, key string, data []byte, etag string) (ObjectInfo, error) {
	return p.fix(key)(p.inner.PutIfMatch(ctx, p.prefix+key, data, etag))
}

func (p *Prefix) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	return p.fix(key)(p.inner.Stat(ctx, p.prefix+key))
}

func (p *Prefix) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	out, err := p.inner.List(ctx, p.prefix+prefix)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Key = strings.TrimPrefix(out[i].Key, p.prefix)
	}
	return out, nil
}

func (p *Prefix) Delete(ctx context.Context, key string) error {
	return p.inner.Delete(ctx, p.prefix+key)
}

// fix returns a func restoring the caller's key in an ObjectInfo.
func (p *Prefix) fix(key string) func(ObjectInfo, error) (ObjectInfo, error) {
	return func(info ObjectInfo, err error) (ObjectInfo, error) {
		if err != nil {
			return ObjectInfo{}, err
		}
		info.Key = key
		return info, nil
	}
}
