package lint

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot returns the directory of silt's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == "/dev/null" {
		t.Fatal("not inside silt's module: run the test from the repository")
	}
	root := filepath.Dir(gomod)
	touchSources(t, root)
	return root
}

// touchSources stats every directory, .go file and go.mod under root so
// that go test's cache, which tracks the files a test opens but not what
// `go list` reads, reruns the checks after any source change.
func touchSources(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
}

// goList runs `go list args...` in dir with a tab-separated template of
// ImportPath, Imports, TestImports and XTestImports.
func goList(t *testing.T, dir string, args ...string) []Package {
	t.Helper()
	const format = `{{.ImportPath}}	{{join .Imports " "}}	{{join .TestImports " "}}	{{join .XTestImports " "}}`
	cmd := exec.Command("go", append([]string{"list", "-e", "-f", format}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var pkgs []Package
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			t.Fatalf("go list: unexpected line %q", sc.Text())
		}
		pkgs = append(pkgs, Package{
			ImportPath:   f[0],
			Imports:      strings.Fields(f[1]),
			TestImports:  strings.Fields(f[2]),
			XTestImports: strings.Fields(f[3]),
		})
	}
	return pkgs
}

// TestLayers fails on any import against the layers of ADR 0018: each
// silt package may import only what its rule in layers.go lists, only
// test code imports internal/, nothing imports cmd/.
func TestLayers(t *testing.T) {
	pkgs := goList(t, repoRoot(t), "./...")
	if len(pkgs) < 10 {
		t.Fatalf("go list ./... found %d packages; expected silt's whole tree", len(pkgs))
	}
	for _, msg := range Check(pkgs) {
		t.Error(msg)
	}
}

// TestNoOldArrow fails if any package in the build graph of silt and its
// tests, dependencies included, imports the old Arrow Go path.
func TestNoOldArrow(t *testing.T) {
	pkgs := goList(t, repoRoot(t), "-deps", "-test", "./...")
	for _, msg := range CheckDeps(pkgs) {
		t.Error(msg)
	}
}

// TestCheckRules runs Check on made-up import graphs: each forbidden
// edge is reported with its rule, and allowed ones are not.
func TestCheckRules(t *testing.T) {
	m := func(rel string) string { return Module + "/" + rel }
	cases := []struct {
		name string
		pkg  Package
		want string // substring of the one message; "" for none
	}{
		{"manifest reads data files", Package{ImportPath: m("manifest"), Imports: []string{m("lsm")}}, "manifest imports lsm: not allowed by the layer rule for manifest (manifest never imports lsm, compaction or table"},
		{"compaction imports table", Package{ImportPath: m("compaction"), Imports: []string{m("table")}}, "compaction never imports table"},
		{"table imports lifecycle", Package{ImportPath: m("table"), Imports: []string{m("lifecycle")}}, "table never imports lifecycle, catalog or query"},
		{"table imports query", Package{ImportPath: m("table"), Imports: []string{m("query")}}, "table imports query"},
		{"catalog imports query", Package{ImportPath: m("catalog"), Imports: []string{m("query")}}, "catalog imports query"},
		{"objstore imports cache", Package{ImportPath: m("objstore"), Imports: []string{m("cache")}}, "objstore may import types only"},
		{"types imports objstore", Package{ImportPath: m("types"), Imports: []string{m("objstore")}}, "types imports objstore"},
		{"bench imports server", Package{ImportPath: m("bench"), Imports: []string{m("server")}}, "bench imports server"},
		{"library imports internal", Package{ImportPath: m("table"), Imports: []string{m("internal/s3test")}}, "only test code imports internal/"},
		{"anything imports cmd", Package{ImportPath: m("server"), TestImports: []string{m("cmd/silt")}}, "nothing imports cmd"},
		{"old arrow", Package{ImportPath: m("query"), Imports: []string{"github.com/apache/arrow/go/v17/arrow"}}, "old Arrow Go path"},
		{"old arrow in a test", Package{ImportPath: m("query"), XTestImports: []string{"github.com/apache/arrow/go/v17/arrow"}}, "(in a test)"},
		{"unknown package", Package{ImportPath: m("newpkg")}, "no layer rule names this package"},
		{"server imports stream", Package{ImportPath: m("server"), Imports: []string{m("stream"), m("query")}}, ""},
		{"lifecycle on table", Package{ImportPath: m("lifecycle"), Imports: []string{m("table"), m("manifest"), "fmt"}}, ""},
		{"test support in tests", Package{ImportPath: m("table"), TestImports: []string{m("internal/s3test"), m("internal/testkit")}}, ""},
		{"x_test reaches up", Package{ImportPath: m("compaction"), XTestImports: []string{m("compaction"), m("table")}}, ""},
		{"cmd wires everything", Package{ImportPath: m("cmd/silt"), Imports: []string{m("server"), m("bench"), m("stream"), m("query")}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Check([]Package{c.pkg})
			if c.want == "" {
				if len(got) != 0 {
					t.Fatalf("want no message, got %q", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], c.want) {
				t.Fatalf("want one message containing %q, got %q", c.want, got)
			}
		})
	}
}

// TestCheckDepsOldArrow: a dependency (not only silt code) importing the
// old Arrow Go path is reported; the current path is not.
func TestCheckDepsOldArrow(t *testing.T) {
	got := CheckDeps([]Package{
		{ImportPath: "example.com/dep", Imports: []string{"github.com/apache/arrow/go/v15/arrow/array"}},
		{ImportPath: Module + "/query", Imports: []string{"github.com/apache/arrow-go/v18/arrow"}},
	})
	if len(got) != 1 || !strings.Contains(got[0], "example.com/dep imports github.com/apache/arrow/go/v15/arrow/array") {
		t.Fatalf("want one message naming example.com/dep, got %q", got)
	}
}
