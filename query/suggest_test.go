package query

import (
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	cands := []string{"orders", "customers", "order_items", "id", "amount", "placed"}
	for _, tc := range []struct{ name, want string }{
		{"ordres", "orders"},
		{"order", "orders"},
		{"ORDERS", "orders"},
		{"custmers", "customers"},
		{"amout", "amount"},
		{"ix", "id"},
		{"zzz", ""},
		{"", ""},
		{"placed_at_time", ""},
		{"cust", "customers"},
	} {
		if got := Suggest(tc.name, cands); got != tc.want {
			t.Errorf("Suggest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := DidYouMean("ordres", cands); got != ` (did you mean "orders"?)` {
		t.Errorf("DidYouMean = %q", got)
	}
	if got := DidYouMean("orders", cands); got != "" {
		t.Errorf("DidYouMean of an exact name = %q, want none", got)
	}
}

// TestUnknownNameHints: unknown tables and columns name the one meant.
func TestUnknownNameHints(t *testing.T) {
	e, _ := newTestEngine(t)
	mustExec(t, e, "CREATE DATABASE shop; CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, amount INT)")
	for _, tc := range []struct{ sql, want string }{
		{"SELECT * FROM shop.ordres", `unknown table shop.ordres (did you mean "shop.orders"?)`},
		{"SELECT * FROM orders", `(did you mean "shop.orders"?)`},
		{"SELECT * FROM shopp.orders", `unknown table shopp.orders (did you mean "shop.orders"?)`},
		{"SELECT * FROM shopp.items", `(no database "shopp"; did you mean "shop.items"?)`},
		{"SELECT * FROM nowhere.items", `(no database "nowhere"; SHOW DATABASES lists them)`},
		{"SELECT amout FROM shop.orders", `unknown column "amout" in table shop.orders (did you mean "amount"?)`},
		{"INSERT INTO shop.orders (id, amout) VALUES (1, 2)", `(did you mean "amount"?)`},
		{"UPDATE shop.orders SET amout = 1", `(did you mean "amount"?)`},
		{"DROP TABLE shop.ordes", `(did you mean "shop.orders"?)`},
	} {
		_, err := e.Exec(t.Context(), tc.sql)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.sql, err, tc.want)
		}
	}
}
