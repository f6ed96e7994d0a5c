package manifest

import (
	"testing"

	"github.com/siltdb/silt/internal/s3test"
	"github.com/siltdb/silt/objstore"
)

// TestConcurrentCommitsS3 runs the concurrent-commit model against a real
// S3 implementation (MinIO), whose conditional puts are the ones that
// matter in production: the store is wrapped in the retrying store, as
// in production, then in the fault injector. It skips without
// SILT_TEST_S3_ENDPOINT and fails under CI.
func TestConcurrentCommitsS3(t *testing.T) {
	seed := modelSeeds(t, 1)[0]
	t.Run("clean", func(t *testing.T) {
		store := objstore.NewRetry(s3test.NewStore(t), objstore.RetryOptions{})
		runModel(t, store, "wh/db.db/t/", seed, modelConfig{committers: 4, ops: 25})
	})
	t.Run("faults", func(t *testing.T) {
		store := objstore.NewRetry(s3test.NewStore(t), objstore.RetryOptions{})
		runModel(t, store, "wh/db.db/t/", seed, modelConfig{committers: 3, ops: 10, faults: true})
	})
}
