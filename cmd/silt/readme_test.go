package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// quickstartBlocks returns the fenced shell blocks under the README's
// "## Quickstart" heading.
func quickstartBlocks(readme string) []string {
	_, section, ok := strings.Cut(readme, "\n## Quickstart\n")
	if !ok {
		return nil
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "```sh\n")
		if !ok {
			return blocks
		}
		block, after, ok := strings.Cut(rest, "```\n")
		if !ok {
			return blocks
		}
		blocks = append(blocks, block)
		section = after
	}
}

// TestReadmeQuickstart runs the README's quickstart as written, line by
// line in bash, in a fresh directory holding the files it names, so that
// it cannot drift from what silt does. Its "go build" of silt is the
// binary these tests built from the same source.
func TestReadmeQuickstart(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := quickstartBlocks(string(readme))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```sh block under ## Quickstart")
	}
	script := strings.Join(blocks, "\n")
	const build = "go build -o silt ./cmd/silt"
	if !strings.Contains(script, build) {
		t.Fatalf("the quickstart no longer builds silt with %q; update this test", build)
	}
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "examples", "quickstart"), os.DirFS(filepath.Join(root, "examples", "quickstart"))); err != nil {
		t.Fatal(err)
	}
	shim := `go() { if [ "$*" = "build -o silt ./cmd/silt" ]; then cp "$SILT_TEST_BIN" silt; else command go "$@"; fi; }` + "\n"
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", shim+"set -x\n"+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SILT_TEST_BIN="+siltBin, "HOME="+t.TempDir(), "TMPDIR="+t.TempDir(), "SILT_WAREHOUSE=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README quickstart failed: %v\nstdout:\n%s\nstderr (each command after +):\n%s", err, out.String(), errb.String())
	}
	// What the quickstart's queries should show: the load, the update and
	// the delete, time travel, and the history.
	for _, want := range []string{
		"created warehouse", "loaded 4 rows into shop.orders",
		" ann      | 33.00\n cy       |  7.25\n(2 rows)", // ann: 11 (updated) + 22; bob deleted
		"  2 | bob      |   3.00 | 2026-01-03",           // VERSION AS OF 1: the load, bob still there
		"snapshot_id | commit_kind",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the quickstart's output lacks %q:\n%s", want, out.String())
		}
	}
}
