package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siltdb/silt/cache"
)

// cacheQueries read data files, manifests and schemas in several ways.
var cacheQueries = []string{
	"SELECT id, customer, amount, placed, note FROM shop.orders ORDER BY id",
	"SELECT customer, COUNT(*) AS n, SUM(amount) AS total FROM shop.orders GROUP BY customer ORDER BY customer",
	"SELECT id, amount FROM shop.orders WHERE id = 17",
	"SELECT id, amount FROM shop.orders VERSION AS OF 1 ORDER BY id",
	"SELECT snapshot_id, commit_kind FROM shop.orders$snapshots ORDER BY snapshot_id",
}

// runCacheQueries runs every query with env and returns the outputs.
func runCacheQueries(t *testing.T, env []string) string {
	t.Helper()
	var out strings.Builder
	for _, q := range cacheQueries {
		r := silt(t, env, "", "--format", "csv", "sql", q)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", q, r.code, r.stderr)
		}
		if r.stderr != "" {
			t.Fatalf("%s: unexpected stderr %q", q, r.stderr)
		}
		fmt.Fprintf(&out, "-- %s\n%s", q, r.stdout)
	}
	return out.String()
}

// cacheFiles lists the block files under a cache directory.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(filepath.Join(dir, cacheSubdir, "blocks"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

// TestCacheCLI runs SQL through the silt binary with the disk cache off,
// on (cold), on (warm), after wiping the cache directory and after
// corrupting its files: the results never change.
func TestCacheCLI(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "wh")
	env := []string{"SILT_WAREHOUSE=" + wh}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts)
	for batch := range 4 {
		var vals []string
		for i := range 25 {
			id := batch*20 + i // batches overlap: updates across files
			vals = append(vals, fmt.Sprintf("(%d, 'c%d', %d.%02d, DATE '2026-01-%02d', 'b%d')", id, id%7, id, i, i%28+1, batch))
		}
		mustSilt(t, env, "", "sql", "INSERT INTO shop.orders VALUES "+strings.Join(vals, ", "))
	}
	mustSilt(t, env, "", "sql", "UPDATE shop.orders SET amount = 1 WHERE id < 10; DELETE FROM shop.orders WHERE id % 9 = 0")

	want := runCacheQueries(t, env)
	if !strings.Contains(want, "\n17,") {
		t.Fatalf("the baseline lacks row 17:\n%s", want)
	}
	cacheDir := filepath.Join(dir, "cache")
	cached := append(env, "SILT_CACHE_DIR="+cacheDir, "SILT_CACHE_SIZE=64mb")
	check := func(what string, env []string) {
		t.Helper()
		if got := runCacheQueries(t, env); got != want {
			t.Fatalf("%s: results differ from the uncached run:\n%s\nwant:\n%s", what, got, want)
		}
	}

	check("cache on, cold", cached)
	files := cacheFiles(t, cacheDir)
	if len(files) == 0 {
		t.Fatal("the cold run cached nothing")
	}
	check("cache on, warm", cached)

	// A warm cache serves the data files: a copy of the warehouse whose
	// data files are all truncated still answers every query through it
	// (the keys are relative to the warehouse root).
	broken := filepath.Join(dir, "broken")
	if err := os.CopyFS(broken, os.DirFS(wh)); err != nil {
		t.Fatal(err)
	}
	var truncated int
	filepath.WalkDir(broken, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), "data-") {
			truncated++
			return os.Truncate(p, 0)
		}
		return nil
	})
	if truncated == 0 {
		t.Fatal("no data files found in the warehouse")
	}
	check("warm cache over truncated data files", []string{"SILT_WAREHOUSE=" + broken, "SILT_CACHE_DIR=" + cacheDir, "SILT_CACHE_SIZE=64mb"})
	if r := silt(t, []string{"SILT_WAREHOUSE=" + broken}, "", "sql", cacheQueries[0]); r.code == 0 {
		t.Fatal("the truncated warehouse answered without the cache: the check above proves nothing")
	}

	if err := os.RemoveAll(cacheDir); err != nil {
		t.Fatal(err)
	}
	check("after wiping the cache directory", cached)
	check("after wiping, warm again", cached)

	files = cacheFiles(t, cacheDir)
	for i, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			data[len(data)/2] ^= 0x5a
		case 1:
			data = data[:len(data)/2]
		default:
			data = append(data, "tail"...)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check(fmt.Sprintf("after corrupting %d cache files", len(files)), cached)
	check("after corrupting, warm again", cached)

	// The warehouse is written through the cache too: a write then a read.
	mustSilt(t, cached, "", "sql", "INSERT INTO shop.orders VALUES (1000, 'new', 5, NULL, NULL)")
	out := mustSilt(t, cached, "", "--format", "csv", "sql", "SELECT id, customer FROM shop.orders WHERE id = 1000")
	if out != "id,customer\n1000,new\n" {
		t.Fatalf("read after a cached write: %q", out)
	}
}

// TestCacheCLIInUse: a cache directory held by another process makes the
// command warn and run without the cache, with the same results.
func TestCacheCLIInUse(t *testing.T) {
	dir := t.TempDir()
	env := []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}
	mustSilt(t, env, "", "sql", "CREATE DATABASE shop; "+createAccounts+"; INSERT INTO shop.orders VALUES (1, 'ann', 2, NULL, NULL)")
	cacheDir := filepath.Join(dir, "cache")
	held, err := cache.Open(t.Context(), filepath.Join(cacheDir, cacheSubdir), 1<<20, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	r := silt(t, append(env, "SILT_CACHE_DIR="+cacheDir), "", "--format", "csv", "sql", "SELECT id, customer FROM shop.orders")
	if r.code != 0 || r.stdout != "id,customer\n1,ann\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "running without the disk cache") || !strings.Contains(r.stderr, "in use by another process") {
		t.Fatalf("stderr %q should warn that the cache directory is in use", r.stderr)
	}
}

func TestCacheCLIBadSize(t *testing.T) {
	dir := t.TempDir()
	r := silt(t, []string{"SILT_WAREHOUSE=" + filepath.Join(dir, "wh")}, "", "--cache-dir", filepath.Join(dir, "c"), "--cache-size", "lots", "sql", "SHOW DATABASES")
	if r.code != 2 || !strings.Contains(r.stderr, "cache-size") || !strings.Contains(r.stderr, "lots") {
		t.Fatalf("exit %d, stderr %q; want a usage error naming --cache-size", r.code, r.stderr)
	}
}
