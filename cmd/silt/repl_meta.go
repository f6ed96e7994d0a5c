package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/siltdb/silt/query"
	"github.com/siltdb/silt/types"
)

const replHelp = `Meta-commands (one a line, no ';'):
  \? or help          this help
  \q, quit or Ctrl-D  quit
  \d or \dt           list the tables of every database
  \d TABLE            describe a table: columns, types, primary key, options
  \l                  list the databases
  \timing [on|off]    print how long each statement took
  \x [on|off]         expanded display: one "column | value" line a field
  \pset format F      output format: table, csv or json (DuckDB's .mode F works too)
SQL statements end with ';' and may span lines; USE db sets the database of
unqualified names. Tab completes keywords, tables and columns; Up and Down
recall earlier lines; Ctrl-C cancels the line or a running statement.
The SQL reference is docs/sql.md; 'silt help' lists the other commands.
`

// metaCommands are the meta-commands' names, for "did you mean".
var metaCommands = []string{`\?`, `\q`, `\d`, `\dt`, `\l`, `\timing`, `\x`, `\pset`, "help", "quit", "exit",
	".help", ".quit", ".exit", ".tables", ".schema", ".databases", ".mode", ".timer"}

// metaCommand reports whether an input line (outside a statement) is a
// meta-command rather than SQL, and returns it trimmed.
func metaCommand(line string) (string, bool) {
	cmd := strings.TrimSpace(line)
	if strings.HasPrefix(cmd, `\`) || (strings.HasPrefix(cmd, ".") && len(cmd) > 1 && isLetter(cmd[1])) {
		return cmd, true
	}
	switch strings.ToLower(strings.TrimSuffix(cmd, ";")) {
	case "help", "quit", "exit":
		return strings.ToLower(strings.TrimSuffix(cmd, ";")), true
	}
	return "", false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// meta runs a meta-command. Its mistakes are reported and the session
// goes on.
func (s *replSession) meta(ctx context.Context, cmd string) (quit bool, err error) {
	fields := strings.Fields(cmd)
	name, args := fields[0], fields[1:]
	out := s.a.stdout
	switch name {
	case `\q`, `\quit`, "quit", "exit", ".quit", ".exit":
		return true, nil
	case `\?`, "help", ".help", `\h`, `\help`:
		fmt.Fprint(out, replHelp)
	case `\d`, `\dt`, `\d+`, ".tables", ".schema":
		if len(args) == 0 || name == `\dt` || name == ".tables" {
			return false, s.reportErr(ctx, s.listTables(ctx))
		}
		return false, s.reportErr(ctx, s.exec(ctx, "DESCRIBE "+strings.Join(args, " ")))
	case `\l`, `\list`, ".databases":
		return false, s.reportErr(ctx, s.exec(ctx, "SHOW DATABASES"))
	case `\timing`, ".timer":
		on, err := toggle(name, s.timing, args)
		if err != nil {
			fmt.Fprintln(s.a.stderr, "error:", err)
			return false, nil
		}
		s.timing = on
		fmt.Fprintf(out, "Timing is %s.\n", onOff(on))
	case `\x`:
		on, err := toggle(name, s.expanded, args)
		if err != nil {
			fmt.Fprintln(s.a.stderr, "error:", err)
			return false, nil
		}
		s.expanded = on
		fmt.Fprintf(out, "Expanded display is %s.\n", onOff(on))
	case `\pset`, ".mode":
		if name == `\pset` {
			if len(args) == 0 || args[0] != "format" {
				fmt.Fprintln(s.a.stderr, `error: \pset sets only the output format: \pset format table|csv|json`)
				return false, nil
			}
			args = args[1:]
		}
		return false, s.setFormat(args)
	default:
		hint := query.DidYouMean(name, metaCommands)
		if hint == "" {
			hint = ` (\? lists the commands)`
		}
		fmt.Fprintf(s.a.stderr, "error: unknown command %s%s\n", name, hint)
	}
	return false, nil
}

// reportErr prints the error of a meta-command's query; only the end of
// the session is returned.
func (s *replSession) reportErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return err
	}
	if err != nil {
		fmt.Fprintln(s.a.stderr, "error:", oneLine(err))
	}
	return nil
}

// setFormat is \pset format F and .mode F. DuckDB's "line" mode is the
// expanded display; box-drawing modes are the table format.
func (s *replSession) setFormat(args []string) error {
	if len(args) != 1 {
		fmt.Fprintf(s.a.stdout, "Output format is %s (choose table, csv or json).\n", s.format)
		return nil
	}
	f := strings.ToLower(args[0])
	switch f {
	case "line", "expanded":
		s.expanded = true
		fmt.Fprintln(s.a.stdout, "Expanded display is on.")
		return nil
	case "box", "duckbox", "aligned", "markdown", "list":
		f = "table"
	case "table", "csv", "json":
	default:
		fmt.Fprintf(s.a.stderr, "error: unknown output format %q (choose table, csv or json)\n", args[0])
		return nil
	}
	s.format, s.expanded = f, false
	fmt.Fprintf(s.a.stdout, "Output format is %s.\n", f)
	return nil
}

// listTables prints every database's tables (\d).
func (s *replSession) listTables(ctx context.Context) error {
	dbs, err := s.cat.ListDatabases(ctx)
	if err != nil {
		return err
	}
	r := &query.Result{Columns: []query.Column{{Name: "database", Type: types.TString}, {Name: "table", Type: types.TString}}}
	for _, db := range dbs {
		tables, err := s.cat.ListTables(ctx, db)
		if err != nil {
			return err
		}
		for _, t := range tables {
			r.Rows = append(r.Rows, types.Row{db, t})
		}
	}
	if len(r.Rows) == 0 {
		fmt.Fprintf(s.a.stdout, "No tables in databases %s. Create one: CREATE TABLE db.t (id BIGINT PRIMARY KEY, v STRING);\n", strings.Join(dbs, ", "))
		return nil
	}
	return s.print(r)
}

// toggle is the new value of an on/off setting: flipped without an
// argument, else the argument's.
func toggle(name string, cur bool, args []string) (bool, error) {
	if len(args) == 0 {
		return !cur, nil
	}
	switch strings.ToLower(args[0]) {
	case "on", "true", "1":
		return true, nil
	case "off", "false", "0":
		return false, nil
	}
	return cur, fmt.Errorf("%s takes on or off, not %q", name, args[0])
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
