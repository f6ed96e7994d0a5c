package query

import (
	"strings"

	"github.com/siltdb/silt/types"
)

// columnType reads the type of a column in CREATE TABLE or ALTER TABLE.
// silt stores every string as STRING and does not enforce a length, so
// VARCHAR(n) and CHAR(n) are refused there rather than accepted and
// ignored: a declared limit that writes may exceed is worse than none.
// (CAST(x AS VARCHAR(n)) is a cast to STRING, as in DuckDB.)
func (p *parser) columnType(col string) (types.DataType, error) {
	t := p.peek()
	if t.kind == tIdent && p.peekN(1).kind == tOp && p.peekN(1).text == "(" {
		switch name := strings.ToUpper(t.text); name {
		case "VARCHAR", "CHAR", "CHARACTER":
			return types.DataType{}, syntaxErr(t, "column %q: %s(n) is not supported: silt does not enforce string lengths; declare the column STRING (or %s without a length)", col, name, name)
		}
	}
	return p.dataType()
}
