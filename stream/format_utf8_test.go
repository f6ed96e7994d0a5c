package stream

import (
	"strings"
	"testing"
)

// TestFormatsRejectInvalidUTF8: a record that is not valid UTF-8 goes to the
// dead-letter queue as unparseable instead of being stored with its bad
// bytes replaced by U+FFFD.
func TestFormatsRejectInvalidUTF8(t *testing.T) {
	s := accountsSchema()
	for i := range s.Fields {
		s.Fields[i].ID = i
	}
	s.HighestFieldID = len(s.Fields) - 1
	for _, tc := range []struct{ format, key, value string }{
		{"json", "", "{\"id\":1,\"name\":\"a\xffb\"}"},
		{"upsert-json", `{"id":7}`, "{\"name\":\"\xc3\"}"},
		{"upsert-json", "{\"id\":7,\"x\":\"\xff\"}", `{"name":"ok"}`},
		{"debezium-json", "", "{\"op\":\"c\",\"after\":{\"id\":1,\"name\":\"\xed\xa0\x80\"}}"},
	} {
		f := mustFormat(t, tc.format, s, FormatOptions{})
		var key []byte
		if tc.key != "" {
			key = []byte(tc.key)
		}
		got, err := f.Decode(nil, key, []byte(tc.value))
		if ReasonOf(err) != ReasonUnparseable || !strings.Contains(err.Error(), "not valid UTF-8") {
			t.Errorf("%s %q: got %v (%s), want an unparseable record naming UTF-8", tc.format, tc.value, err, fmtChanges(got))
		}
	}
}
