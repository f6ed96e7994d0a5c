package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/query"
)

// cmdInit creates a warehouse: its directory (or, with
// SILT_S3_CREATE_BUCKET=true, its bucket) and the default database. On a
// warehouse that exists it changes nothing and says so.
func (a *app) cmdInit(ctx context.Context, args []string) error {
	pos, err := a.parseFlags("init", args, nil, "[DIR | s3://bucket/prefix]")
	if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
	case 1:
		a.g.warehouse = pos[0]
	default:
		return fmt.Errorf("%w: silt init takes one warehouse, got %d arguments (run 'silt init --help')", errUsage, len(pos))
	}
	cat, err := a.createWarehouse(ctx)
	if err != nil {
		return err
	}
	shown := objstore.RedactURI(a.g.warehouse)
	dbs, err := cat.ListDatabases(ctx)
	if err != nil {
		return err
	}
	if len(dbs) > 0 {
		fmt.Fprintf(a.stdout, "warehouse %s already exists (databases: %s)\n", shown, strings.Join(dbs, ", "))
		return nil
	}
	if err := cat.CreateDatabase(ctx, catalog.DefaultDatabase, true); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "created warehouse %s (database %q)\nnext: SILT_WAREHOUSE=%s silt sql\n", shown, catalog.DefaultDatabase, shown)
	return nil
}

// scriptCreates reports whether a SQL script has a CREATE statement: such
// a script may create the warehouse it names, any other needs an
// existing one.
func scriptCreates(sql string) bool {
	stmts, _ := query.SplitStatements(sql + "\n;")
	for _, s := range stmts {
		if strings.EqualFold(firstWord(s), "CREATE") {
			return true
		}
	}
	return false
}

// firstWord is the first word of a statement after its leading comments.
func firstWord(s string) string {
	for {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, "--"):
			_, s, _ = strings.Cut(s, "\n")
		case strings.HasPrefix(s, "/*"):
			_, s, _ = strings.Cut(s[2:], "*/")
		default:
			end := strings.IndexFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
			if end < 0 {
				return s
			}
			return s[:end]
		}
	}
}
