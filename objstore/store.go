// Package objstore is silt's object-store abstraction: one small Store
// interface with first-class conditional writes, implemented by S3 (minio-go),
// a local directory and memory, and wrapped by retry, fault-injection and
// prefix layers that implement the same interface.
//
// Files:
//
//	store.go            Store, ObjectInfo, sentinel errors
//	s3.go, s3config.go  S3 (single-part conditional puts, ErrAmbiguous), S3Config, ParseS3URI
//	s3creds.go          the AWS credential chain (environment, profile file, web identity, role)
//	s3timeout.go        per-request time budgets (ErrTimeout)
//	inflight.go         InFlight: the age of the oldest operation under way
//	uri.go              RedactURI, CheckNoCredentials, CheckStoreURI
//	local*.go           Local: a directory, atomic and cross-process safe
//	mem.go              Mem: in memory, for tests
//	retry*.go           Retry: backoff for idempotent calls, read-back for conditional puts
//	fault.go            Fault: injected failures by rule
//	prefix.go           Prefix: key namespacing
//	sweep.go            TempSweeper: removing a local store's stray temp files (wrappers pass it through)
//	readerat.go         ReaderAt: io.ReaderAt over GetRange
//	objstoretest/       the conformance suite every Store runs
//	s3test/             a fresh bucket on the test MinIO (see scripts/test.sh)
//
// A typical production stack is NewRetry(NewS3(...)); the S3 store makes
// one HTTP attempt per call and leaves retrying to Retry.
package objstore

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrPreconditionFailed: a conditional put lost (the object exists, or
	// its ETag no longer matches).
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrAmbiguous wraps a conditional put whose outcome is unknown (the
	// request may or may not have been applied). The caller must resolve it
	// by reading the object back; it must never be retried blindly.
	ErrAmbiguous = errors.New("outcome unknown")
	// ErrAccessDenied: the service refused the request for lack of
	// permission (S3's AccessDenied): the credentials may not do this,
	// e.g. write with a read-only policy. Retrying does not help.
	ErrAccessDenied = errors.New("access denied: the credentials lack permission for this request")
)

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
}

// Store is an object store. Keys are '/'-separated paths without a leading
// '/'. Every method takes a context and honours its cancellation.
type Store interface {
	// Get returns the whole object.
	Get(ctx context.Context, key string) ([]byte, ObjectInfo, error)
	// GetRange returns length bytes starting at off. A range reaching past
	// the end is truncated at the end of the object.
	GetRange(ctx context.Context, key string, off, length int64) ([]byte, error)
	// Put stores the object, replacing any existing one.
	Put(ctx context.Context, key string, data []byte) (ObjectInfo, error)
	// PutIfAbsent stores the object only if no object has the key;
	// otherwise it returns ErrPreconditionFailed.
	PutIfAbsent(ctx context.Context, key string, data []byte) (ObjectInfo, error)
	// PutIfMatch replaces the object only if its current ETag is etag;
	// otherwise (or if it is missing) it returns ErrPreconditionFailed.
	PutIfMatch(ctx context.Context, key string, data []byte, etag string) (ObjectInfo, error)
	// Stat returns the object's metadata.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List returns every object whose key starts with prefix, in ascending
	// key order.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// ListDirs returns, in ascending order, the distinct names s such that
	// some key starts with prefix+s+"/": the immediate "folders" under a
	// prefix that ends in '/' (or is empty), without listing every object
	// below them. Stores may also return folders that became empty.
	ListDirs(ctx context.Context, prefix string) ([]string, error)
	// Delete removes the object. Deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
}
