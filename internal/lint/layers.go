// Package lint holds the repository's structural checks: the direction of
// imports between silt's packages (TestLayers), and that the example module
// builds and runs from outside the repository (TestExampleStreamJob).
//
// The layers, bottom to top (ADR 0018):
//
//	foundation (types; objstore, objstore/objstoretest; cache)
//	→ manifest → lsm → compaction → table → lifecycle, catalog → query
//	→ stream, server, bench → cmd/silt
//
// A package may import only the packages its rule lists; the rules below
// are the whole policy. internal/ holds test support only.
package lint

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Module is silt's module path.
const Module = "github.com/siltdb/silt"

// rule says which silt packages pkg may import (paths relative to Module)
// and why. A pattern ending in "/..." matches the folder and everything
// under it.
type rule struct {
	pkg string
	may []string
	why string
}

// The layers as sets of patterns, each including the ones below it.
var (
	foundation = []string{"types", "objstore", "objstore/objstoretest", "cache"}
	metadata   = with(foundation, "manifest")
	runs       = with(metadata, "lsm")
	compacts   = with(runs, "compaction")
	tables     = with(compacts, "table")
	storage    = with(tables, "lifecycle", "catalog", "icebergview")
	queries    = with(storage, "query")
)

func with(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

// rules is the allowed-edges table. Every silt package must match exactly
// one rule; a rule for a package that does not exist (yet) is harmless.
var rules = []rule{
	// Foundation.
	{"types", nil, "types is the bottom layer: it imports no silt package"},
	{"objstore", []string{"types"}, "within foundation, objstore may import types only"},
	{"objstore/objstoretest", []string{"objstore", "types"}, "the objstore conformance suite sits on objstore and types"},
	{"cache", []string{"objstore", "types"}, "within foundation, cache may import objstore and types only"},

	// Storage.
	{"manifest", foundation, "manifest never imports lsm, compaction or table: it never reads data files"},
	{"lsm", metadata, "lsm is one bucket's merge tree: it sits on manifest and foundation, never on compaction or table"},
	{"compaction", runs, "compaction never imports table: tables call compaction, not the other way round"},
	{"table", compacts, "table never imports lifecycle, catalog or query: policies, the warehouse and SQL sit above it"},
	{"lifecycle", tables, "lifecycle sits on table; it does not import catalog (a sibling) or query"},
	{"catalog", tables, "catalog sits on table; it does not import lifecycle (a sibling) or query"},
	{"icebergview", tables, "icebergview publishes Iceberg metadata of a table: it sits on table, beside lifecycle and catalog"},

	// SQL: storage packages (everything below query) never import query.
	{"query", storage, "query sits on the storage packages; it never imports stream, server, bench or cmd"},

	// Applications.
	{"stream", queries, "stream is an application: it may use the library, not server, bench or cmd"},
	{"server", with(queries, "stream"), "server may import stream (the documented process wiring), not bench or cmd"},
	{"bench", queries, "bench is an application: it may use the library, not stream, server or cmd"},

	// Wiring: nothing imports cmd, and cmd/silt imports no internal/ package.
	{"cmd/silt", with(queries, "stream", "server", "bench"), "cmd/silt is thin wiring over the library and the applications"},

	// Test support under internal/: imported by test code only.
	{"internal/s3test", foundation, "test support: a bucket on the test MinIO, built on objstore"},
	{"internal/testkit", nil, "test support: seeds and model helpers, standard library only so every package's tests may import it"},
	{"internal/nestedgen", []string{"types"}, "test support: random nested types and values, on types only"},
	{"internal/duckdbtest", nil, "test support: runs SQL on DuckDB through node for comparisons, standard library only"},
	{"internal/lint", nil, "the structural checks import no silt package"},
}

// Package is one package as `go list` reports it: its import path and
// its non-test and test imports.
type Package struct {
	ImportPath   string
	Imports      []string // of the package itself
	TestImports  []string // of its _test.go files in the package
	XTestImports []string // of its _test.go files in package x_test
}

// forbiddenPrefixes are import paths no package, test or not, may use.
var forbiddenPrefixes = []struct{ prefix, why string }{
	{"github.com/apache/arrow/go/", "silt uses github.com/apache/arrow-go/v18; the old Arrow Go path must not come back (ADR 0016)"},
}

// Check returns one line per import against the layers, sorted. Rules
// apply to non-test imports; test code may also import internal/ (test
// support) but, like everything else, never cmd/ or the old Arrow path.
func Check(pkgs []Package) []string {
	var out []string
	for _, p := range pkgs {
		rel, ok := relative(p.ImportPath)
		if !ok {
			continue
		}
		r, found := ruleFor(rel)
		if !found {
			out = append(out, fmt.Sprintf("%s: no layer rule names this package; add one to internal/lint/layers.go", rel))
			continue
		}
		for _, imp := range p.Imports {
			if msg := checkImport(rel, imp, r, false); msg != "" {
				out = append(out, msg)
			}
		}
		for _, imp := range append(append([]string(nil), p.TestImports...), p.XTestImports...) {
			if msg := checkImport(rel, imp, r, true); msg != "" {
				out = append(out, msg+" (in a test)")
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// CheckDeps returns one line per package anywhere in the build graph
// (dependencies included) that imports a forbidden path.
func CheckDeps(pkgs []Package) []string {
	var out []string
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			for _, f := range forbiddenPrefixes {
				if strings.HasPrefix(imp, f.prefix) {
					out = append(out, fmt.Sprintf("%s imports %s: %s", p.ImportPath, imp, f.why))
				}
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func checkImport(rel, imp string, r rule, test bool) string {
	for _, f := range forbiddenPrefixes {
		if strings.HasPrefix(imp, f.prefix) {
			return fmt.Sprintf("%s imports %s: %s", rel, imp, f.why)
		}
	}
	target, ok := relative(imp)
	if !ok {
		return "" // standard library or another module
	}
	if target == rel {
		return "" // an x_test package importing its own package
	}
	switch {
	case target == "cmd" || strings.HasPrefix(target, "cmd/"):
		return fmt.Sprintf("%s imports %s: nothing imports cmd (commands are the top of the graph)", rel, target)
	case strings.HasPrefix(target, "internal/"):
		if test || strings.HasPrefix(rel, "internal/") {
			return "" // test support is for test code
		}
		return fmt.Sprintf("%s imports %s: only test code imports internal/ (it holds test support, not library code)", rel, target)
	case test:
		return "" // tests may reach up (e.g. compaction_test builds a table); Go rejects cycles itself
	}
	for _, m := range r.may {
		if match(m, target) {
			return ""
		}
	}
	return fmt.Sprintf("%s imports %s: not allowed by the layer rule for %s (%s; it may import: %s)",
		rel, target, r.pkg, r.why, mayList(r.may))
}

func ruleFor(rel string) (rule, bool) {
	for _, r := range rules {
		if match(r.pkg, rel) {
			return r, true
		}
	}
	return rule{}, false
}

func match(pattern, rel string) bool {
	if p, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == p || strings.HasPrefix(rel, p+"/")
	}
	return pattern == rel
}

func relative(importPath string) (string, bool) {
	if importPath == Module {
		return ".", true
	}
	rel, ok := strings.CutPrefix(importPath, Module+"/")
	return rel, ok
}

func mayList(may []string) string {
	if len(may) == 0 {
		return "no silt package"
	}
	return strings.Join(may, ", ")
}
