package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/siltdb/silt/catalog"
)

// sqlKeywords are the words Tab completes besides names.
var sqlKeywords = strings.Fields(`SELECT FROM WHERE GROUP BY ORDER HAVING LIMIT OFFSET AS DISTINCT
	INSERT INTO VALUES UPDATE SET DELETE CREATE DROP ALTER TABLE DATABASE ADD COLUMN RENAME TO
	SHOW TABLES DATABASES DESCRIBE USE AND OR NOT NULL IS IN LIKE BETWEEN CASE WHEN THEN ELSE END
	COUNT SUM MIN MAX AVG CAST PRIMARY KEY WITH VERSION OF TIMESTAMP ASC DESC JOIN ON IF EXISTS
	PARTITIONED BIGINT INT STRING DECIMAL DATE DOUBLE BOOLEAN TRUE FALSE`)

// nameCache holds the warehouse's names for completion until the next
// statement runs (it may create or drop tables).
type nameCache struct {
	cat     *catalog.Catalog
	mu      sync.Mutex
	dbs     []string
	tables  map[string][]string // database -> tables
	columns map[string][]string // "db.table" -> columns
}

func (n *nameCache) forget() {
	n.mu.Lock()
	n.dbs, n.tables, n.columns = nil, nil, nil
	n.mu.Unlock()
}

func (n *nameCache) databases(ctx context.Context) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dbs == nil {
		n.dbs, _ = n.cat.ListDatabases(ctx)
		if n.dbs == nil {
			n.dbs = []string{}
		}
	}
	return n.dbs
}

func (n *nameCache) tablesOf(ctx context.Context, db string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.tables == nil {
		n.tables = map[string][]string{}
	}
	ts, ok := n.tables[db]
	if !ok {
		ts, _ = n.cat.ListTables(ctx, db)
		n.tables[db] = ts
	}
	return ts
}

func (n *nameCache) columnsOf(ctx context.Context, db, table string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.columns == nil {
		n.columns = map[string][]string{}
	}
	key := db + "." + table
	cols, ok := n.columns[key]
	if !ok {
		if t, err := n.cat.LoadTable(ctx, db, table); err == nil {
			for _, f := range t.Schema().Fields {
				cols = append(cols, f.Name)
			}
		}
		n.columns[key] = cols
	}
	return cols
}

// lineWriter is where completion lists its candidates (the terminal).
type lineWriter interface {
	Write([]byte) (int, error)
}

// complete is Tab: it completes the word before the cursor to a keyword,
// database, table ("db.t" or a table of the current database) or a
// column of a table the line names. One match is filled in; several are
// filled in to their common start, else listed.
func (s *replSession) complete(ctx context.Context, w lineWriter, line string, pos int) (string, int, bool) {
	start := pos
	for start > 0 && isNameByte(line[start-1]) {
		start--
	}
	word := line[start:pos]
	cands := s.candidates(ctx, line, word)
	var matches []string
	seen := map[string]bool{}
	for _, c := range cands {
		if len(c) >= len(word) && strings.EqualFold(c[:len(word)], word) && !seen[c] {
			seen[c] = true
			matches = append(matches, c)
		}
	}
	sort.Strings(matches)
	switch len(matches) {
	case 0:
		return "", 0, false
	case 1:
		fill := matches[0]
		if !strings.HasSuffix(fill, ".") {
			fill += " "
		}
		return line[:start] + fill + line[pos:], start + len(fill), true
	}
	common := matches[0]
	for _, m := range matches[1:] {
		for !strings.HasPrefix(strings.ToLower(m), strings.ToLower(common)) {
			common = common[:len(common)-1]
		}
	}
	if len(common) > len(word) {
		return line[:start] + common + line[pos:], start + len(common), true
	}
	const most = 60
	shown := matches
	if len(shown) > most {
		shown = shown[:most]
	}
	list := strings.Join(shown, "  ")
	if len(matches) > most {
		list += fmt.Sprintf("  … (%d more)", len(matches)-most)
	}
	fmt.Fprintln(w, list)
	return "", 0, false
}

func isNameByte(c byte) bool {
	return c == '_' || c == '.' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// candidates are the completions of word in line: after "db." the
// database's tables, after "table." its columns, else keywords, databases,
// tables and the columns of the tables the line names (of any table when
// it names none).
func (s *replSession) candidates(ctx context.Context, line, word string) []string {
	current := s.eng.CurrentDB()
	if i := strings.LastIndexByte(word, '.'); i >= 0 {
		qual := word[:i]
		var out []string
		for _, db := range s.names.databases(ctx) {
			if strings.EqualFold(db, qual) {
				for _, t := range s.names.tablesOf(ctx, db) {
					out = append(out, qual+"."+t)
				}
			}
		}
		db, t, ok := s.tableNamed(ctx, qual, current)
		if a, isAlias := s.aliases(ctx, line, current)[strings.ToLower(qual)]; isAlias {
			db, t, ok = a[0], a[1], true // an alias hides the table's name
		}
		if ok {
			for _, c := range s.names.columnsOf(ctx, db, t) {
				out = append(out, qual+"."+c)
			}
		}
		return out
	}
	upper := word == "" || strings.ToLower(word) != word
	var out []string
	for _, k := range sqlKeywords {
		if !upper {
			k = strings.ToLower(k)
		}
		out = append(out, k)
	}
	for _, db := range s.names.databases(ctx) {
		out = append(out, db+".")
	}
	out = append(out, s.names.tablesOf(ctx, current)...)
	named := false
	for _, tok := range strings.FieldsFunc(line, func(r rune) bool { return r > 0x7f || !isNameByte(byte(r)) }) {
		if db, t, ok := s.tableNamed(ctx, tok, current); ok {
			out = append(out, s.names.columnsOf(ctx, db, t)...)
			named = true
		}
	}
	if !named { // "SELECT cu<Tab>" before FROM: the columns of the first tables
		n := 0
		for _, db := range s.names.databases(ctx) {
			for _, t := range s.names.tablesOf(ctx, db) {
				if n++; n > maxCompletedTables {
					return out
				}
				out = append(out, s.names.columnsOf(ctx, db, t)...)
			}
		}
	}
	return out
}

// maxCompletedTables bounds the tables whose columns completion loads when
// the line names none.
const maxCompletedTables = 32

// tableNamed resolves "db.t" or "t" (of the current database) to a table
// of the warehouse.
func (s *replSession) tableNamed(ctx context.Context, name, current string) (string, string, bool) {
	db, t, ok := strings.Cut(name, ".")
	if !ok {
		db, t = current, name
	}
	if t == "" || strings.Contains(t, ".") {
		return "", "", false
	}
	for _, x := range s.names.tablesOf(ctx, db) {
		if strings.EqualFold(x, t) {
			return db, x, true
		}
	}
	return "", "", false
}

// notAlias are the words after a table name that are not its alias.
var notAlias = map[string]bool{}

func init() {
	for _, k := range sqlKeywords {
		notAlias[strings.ToLower(k)] = true
	}
	for _, k := range strings.Fields("left right full inner outer cross natural using union intersect except all for system_time lateral limit order group") {
		notAlias[k] = true
	}
}

// aliases maps the aliases the line gives its tables ("FROM orders o",
// "JOIN shop.customers AS c") to their database and table.
func (s *replSession) aliases(ctx context.Context, line, current string) map[string][2]string {
	toks := strings.FieldsFunc(line, func(r rune) bool { return r > 0x7f || !isNameByte(byte(r)) })
	out := map[string][2]string{}
	for i := 0; i+1 < len(toks); i++ {
		db, t, ok := s.tableNamed(ctx, toks[i], current)
		if !ok {
			continue
		}
		next := i + 1
		if strings.EqualFold(toks[next], "as") {
			next++
		}
		if next >= len(toks) {
			break
		}
		a := strings.ToLower(toks[next])
		if strings.ContainsAny(a, ".$") || notAlias[a] || a[0] >= '0' && a[0] <= '9' {
			continue
		}
		out[a] = [2]string{db, t}
	}
	return out
}
