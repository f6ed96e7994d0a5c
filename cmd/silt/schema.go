package main

import (
	"context"
	"fmt"
)

// cmdSchema runs "silt schema check DB.TABLE STATEMENT": a dry run of an
// ALTER TABLE under the table's compatibility mode. It prints OK and the
// schema version the change would write, or fails with the violated rule;
// nothing is written either way.
func (a *app) cmdSchema(ctx context.Context, args []string) error {
	const help = `check DB.TABLE "ALTER TABLE DB.TABLE … | ADD COLUMN …"`
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintf(a.stdout, "Usage: silt schema %s\n", help)
			return nil
		}
		return fmt.Errorf("%w: usage: silt schema %s", errUsage, help)
	}
	pos, err := a.parseFlags("schema check", args[1:], nil, `DB.TABLE "ALTER TABLE … | ADD COLUMN …"`)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: usage: silt schema %s", errUsage, help)
	}
	db, name, err := splitTableName(pos[0])
	if err != nil {
		return err
	}
	cat, err := a.openWarehouse(ctx)
	if err != nil {
		return err
	}
	t, err := cat.LoadTable(ctx, db, name)
	if err != nil {
		return err
	}
	s, err := a.newEngine(cat).CheckAlter(ctx, db+"."+name, pos[1])
	if err != nil {
		return err
	}
	if s.ID == t.Schema().ID {
		fmt.Fprintf(a.stdout, "OK: no change (table %s.%s stays at schema %d)\n", db, name, s.ID)
		return nil
	}
	fmt.Fprintf(a.stdout, "OK: would write schema %d of %s.%s: %s\n", s.ID, db, name, s.Change)
	return nil
}
