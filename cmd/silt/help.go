package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strings"

	"github.com/siltdb/silt/query"
)

// commandNames are the commands run dispatches, for "did you mean" and
// silt help.
var commandNames = []string{"sql", "load", "compact", "sink", "export", "changes", "maintain", "lifecycle",
	"rebuild", "serve", "demo", "init", "schema", "bench", "version", "help"}

// suggestCommand is the "did you mean" of an unknown command.
func suggestCommand(name string) string {
	return query.DidYouMean(name, commandNames)
}

// commandSummary is a command's lines in the usage text's command list.
func commandSummary(name string) string {
	var out []string
	in := false
	for _, line := range strings.Split(usage, "\n") {
		switch {
		case strings.HasPrefix(line, "  "+name+" ") || line == "  "+name:
			in = true
			out = append(out, strings.TrimSpace(line))
		case in && strings.HasPrefix(line, "                       "):
			out = append(out, strings.TrimSpace(line))
		default:
			in = false
		}
	}
	return wideGap.ReplaceAllString(strings.Join(out, " "), ": ")
}

// wideGap separates a command from its description in the usage text.
var wideGap = regexp.MustCompile(`\s{2,}`)

// commandHelp prints a command's help (silt CMD --help, silt help CMD)
// on stdout: what it does, its arguments and its flags.
func (a *app) commandHelp(name, args string, fs *flag.FlagSet) {
	w := a.stdout
	if s := commandSummary(strings.Fields(name)[0]); s != "" {
		fmt.Fprintf(w, "silt %s\n\n", s)
	}
	fmt.Fprintf(w, "Usage: silt %s %s\n\nFlags (the global flags of 'silt help' work here too):\n", name, args)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(nil)
}

// help is silt help CMD: the command's own help.
func (a *app) help(ctx context.Context, name string) int {
	switch name {
	case "version", "help":
		fmt.Fprintf(a.stdout, "silt %s\n", commandSummary(name))
		return 0
	}
	for _, c := range commandNames {
		if c == name {
			return run(ctx, []string{name, "--help"}, a.stdin, a.stdout, a.stderr, a.getenv)
		}
	}
	fmt.Fprintf(a.stderr, "silt: usage: unknown command %q%s (run 'silt help' for the list)\n", name, suggestCommand(name))
	return 2
}

// flagError rewords the flag package's errors: an unknown flag names the
// flag meant.
func flagError(err error, fs *flag.FlagSet) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		hint := ""
		if s := query.Suggest(name, names); s != "" {
			hint = fmt.Sprintf(" (did you mean --%s?)", s)
		}
		return fmt.Sprintf("unknown flag --%s%s", name, hint)
	}
	if errors.Is(err, flag.ErrHelp) {
		return "help requested"
	}
	return msg
}
