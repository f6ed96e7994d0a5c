// Package testkit is silt's shared test toolkit: one -seed flag for every
// randomized test, and the helpers that turn it into seeds and replay
// lines. It imports the standard library only, so the tests of every
// package, down to types, may use it.
//
//	seed := testkit.Seed(t) // -seed, else SILT_SEED, else the clock; logged
//	rng := rand.New(rand.NewPCG(seed, 1))
//
// A failing run logs `seed N (replay: go test ./pkg -run '^TestName$' -seed N)`.
package testkit

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SeedEnv names the environment variable that sets the seed when -seed
// is not given (handy for `go test ./...`, where a flag reaches every
// package).
const SeedEnv = "SILT_SEED"

var seedFlag = flag.Uint64("seed", 0, "seed of the randomized tests (0: "+SeedEnv+" if set, else from the clock)")

// Fixed returns the seed fixed by -seed or SILT_SEED, and whether one
// was. A SILT_SEED that is not a number fails the test.
func Fixed(t testing.TB) (uint64, bool) {
	t.Helper()
	if *seedFlag != 0 {
		return *seedFlag, true
	}
	v := os.Getenv(SeedEnv)
	if v == "" {
		return 0, false
	}
	s, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q is not a seed: set it to an unsigned integer or unset it (%v)", SeedEnv, v, err)
	}
	return s, true
}

// Seed returns the seed of a randomized test (the fixed one, else one
// from the clock) and logs how to replay it.
func Seed(t testing.TB) uint64 {
	t.Helper()
	s, ok := Fixed(t)
	if !ok {
		s = uint64(time.Now().UnixNano())
	}
	LogSeed(t, s)
	return s
}

// Seeds returns the seeds a test runs: the fixed one alone, else n fresh
// ones. It logs nothing: run each seed in a subtest that calls LogSeed
// (or Seed-like logging of its own) so a failure names its seed.
func Seeds(t testing.TB, n int) []uint64 {
	t.Helper()
	if s, ok := Fixed(t); ok {
		return []uint64{s}
	}
	base := uint64(time.Now().UnixNano())
	out := make([]uint64, n)
	for i := range out {
		out[i] = base + uint64(i)*7919
	}
	return out
}

// LogSeed logs seed with the command that replays this test with it.
func LogSeed(t testing.TB, seed uint64) {
	t.Helper()
	t.Logf("seed %d (replay: go test %s -run '%s' -seed %d)", seed, packageDir(), runPattern(t.Name()), seed)
}

// runPattern is a -run pattern matching exactly the test (or subtest)
// name: each slash-separated level anchored and quoted. Trailing levels
// that go test numbered itself (t.Run("") gives "#00", "#01", ...) are
// left out: with a fixed seed a test runs one such subtest, numbered #00,
// so the number of the failing run would match nothing.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for len(parts) > 1 && autoNamed.MatchString(parts[len(parts)-1]) {
		parts = parts[:len(parts)-1]
	}
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// autoNamed matches the name go test gives a subtest run with an empty
// name.
var autoNamed = regexp.MustCompile(`^#[0-9]+$`)

// packageDir is the test's package as a ./path relative to the module
// root (go test runs a test in its package's directory), or "." when the
// module root cannot be found.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}
