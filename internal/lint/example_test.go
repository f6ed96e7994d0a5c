package lint

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exampleDir is the example module, relative to the repository root.
const exampleDir = "examples/streamjob"

// TestExampleStreamJob copies the example module to a directory outside
// the repository, points only its replace directive at this checkout,
// and builds and runs it there as a user's own module would (module
// proxy and cache as for any build). The example checks its own reads
// and exits non-zero on a mismatch.
func TestExampleStreamJob(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a separate module; skipped with -short")
	}
	root := repoRoot(t)
	dst := t.TempDir()
	if rel, err := filepath.Rel(root, dst); err == nil && !strings.HasPrefix(rel, "..") {
		t.Fatalf("temp dir %s is inside the repository %s; set TMPDIR elsewhere", dst, root)
	}
	copyTree(t, filepath.Join(root, exampleDir), dst)

	gomod := filepath.Join(dst, "go.mod")
	data, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	const rel = "replace " + Module + " => ../.."
	if bytes.Count(data, []byte(rel)) != 1 {
		t.Fatalf("%s/go.mod must say %q exactly once (the copy rewrites only that line)", exampleDir, rel)
	}
	data = bytes.Replace(data, []byte(rel), []byte("replace "+Module+" => "+root), 1)
	if err := os.WriteFile(gomod, data, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dst
		// -mod=readonly: the example's go.mod and go.sum must be complete.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s in a copy of %s: %v\n%s", strings.Join(args, " "), exampleDir, err, out)
		}
		return string(out)
	}
	goCmd("build", "./...")
	out := goCmd("run", ".")
	t.Logf("go run . printed:\n%s", out)
	for _, want := range []string{"batch 2: 4 events, snapshot 3", "restart: re-committed batch-2 -> snapshot 3 (latest before 3, after 3)", "\nok\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestExamplesImportNoInternal fails if any Go file under examples/
// imports an internal/ package: examples use only what a user can.
func TestExamplesImportNoInternal(t *testing.T) {
	root := repoRoot(t)
	n := 0
	err := filepath.WalkDir(filepath.Join(root, "examples"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		n++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "internal" || strings.HasPrefix(p, "internal/") || strings.Contains(p, "/internal/") || strings.HasSuffix(p, "/internal") {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s imports %s: examples may use only packages a user can import", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no Go files under examples/")
	}
}

// TestReadmeExample fails unless README.md shows exactly the region of
// the example between its "// README:begin" and "// README:end" lines
// (one indentation level removed), in the code block that follows the
// marker line "<!-- snippet: examples/streamjob/main.go -->".
func TestReadmeExample(t *testing.T) {
	root := repoRoot(t)
	src, err := os.ReadFile(filepath.Join(root, exampleDir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok1 := strings.Cut(string(src), "// README:begin\n")
	region, _, ok2 := strings.Cut(after, "\t// README:end\n")
	if !ok1 || !ok2 {
		t.Fatalf("%s/main.go lacks the // README:begin and // README:end lines", exampleDir)
	}
	var want []string
	for _, l := range strings.Split(strings.TrimSuffix(region, "\n"), "\n") {
		want = append(want, strings.TrimPrefix(l, "\t"))
	}

	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- snippet: " + exampleDir + "/main.go -->\n"
	_, block, ok := strings.Cut(string(readme), marker)
	if !ok {
		t.Fatalf("README.md lacks the line %q before the library example", strings.TrimSpace(marker))
	}
	block, ok = strings.CutPrefix(block, "```go\n")
	if !ok {
		t.Fatal("README.md: the snippet marker must be followed by a ```go block")
	}
	block, _, ok = strings.Cut(block, "```\n")
	if !ok {
		t.Fatal("README.md: the library example's ```go block is not closed")
	}
	got := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("README.md's library example differs from %s/main.go between README:begin and README:end; copy the region (one tab less) into README.md.\nREADME:\n%s\nmain.go:\n%s",
			exampleDir, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// copyTree copies the regular files under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}
