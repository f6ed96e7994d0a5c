package stream

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

// twosComplement is the minimal big-endian two's complement of n, as
// Kafka Connect writes a decimal's unscaled value.
func twosComplement(n *big.Int) []byte {
	if n.Sign() >= 0 {
		b := n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	l := len(n.Bytes()) + 1
	m := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), uint(8*l)), n)
	b := m.Bytes()
	for len(b) < l {
		b = append([]byte{0xFF}, b...)
	}
	for len(b) > 1 && b[0] == 0xFF && b[1]&0x80 != 0 {
		b = b[1:]
	}
	return b
}

func vsd(unscaled string, scale int) map[string]any {
	n, _ := new(big.Int).SetString(unscaled, 10)
	return map[string]any{"scale": scale, "value": base64.StdEncoding.EncodeToString(twosComplement(n))}
}

func connectDec(unscaled string) string {
	n, _ := new(big.Int).SetString(unscaled, 10)
	return base64.StdEncoding.EncodeToString(twosComplement(n))
}

// TestDebeziumDecimal128: Connect Decimals of precision 38 and Debezium's
// VariableScaleDecimal go into DECIMAL(38,10) columns exactly (the latter
// was always dead-lettered before); values that do not fit the column's
// precision or scale are wrong-type records naming the column's type.
func TestDebeziumDecimal128(t *testing.T) {
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "fixed", Type: types.TDecimal(38, 10)},
			{ID: 2, Name: "var", Type: types.TDecimal(38, 10)},
			{ID: 3, Name: "small", Type: types.TDecimal(10, 2)},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 3,
	}
	fields := []cf{
		{name: "id", typ: "int64"},
		{name: "fixed", typ: "bytes", logical: "org.apache.kafka.connect.data.Decimal", params: map[string]string{"scale": "10", "connect.decimal.precision": "38"}},
		{name: "var", typ: "struct", logical: "io.debezium.data.VariableScaleDecimal"},
		{name: "small", typ: "struct", logical: "io.debezium.data.VariableScaleDecimal"},
	}
	f, err := NewFormat("debezium-json", s, FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		row  map[string]any
		want []string // fixed, var, small as text; nil: a wrong-type record
		msg  string
	}{
		{"38 digits", map[string]any{"id": 1, "fixed": connectDec("-99999999999999999999999999999999999999"),
			"var": vsd("12345678901234567890123456789", 1), "small": vsd("-12350", 3)},
			[]string{"-9999999999999999999999999999.9999999999", "1234567890123456789012345678.9000000000", "-12.35"}, ""},
		{"scale above the column's, trailing zeros", map[string]any{"id": 2, "fixed": nil, "var": vsd("1500000000000000", 15), "small": vsd("120", 1)},
			[]string{"NULL", "1.5000000000", "12.00"}, ""},
		{"negative scale", map[string]any{"id": 3, "fixed": nil, "var": vsd("42", -3), "small": vsd("-7", -2)},
			[]string{"NULL", "42000.0000000000", "-700.00"}, ""},
		{"precision", map[string]any{"id": 4, "fixed": nil, "var": vsd("1", -28), "small": nil}, nil, "does not fit DECIMAL(38,10)"},
		{"scale", map[string]any{"id": 5, "fixed": nil, "var": nil, "small": vsd("12345", 3)}, nil, "does not fit DECIMAL(10,2)"},
		{"small precision", map[string]any{"id": 6, "fixed": nil, "var": nil, "small": vsd("123456789", 0)}, nil, "does not fit DECIMAL(10,2)"},
		{"bad struct", map[string]any{"id": 7, "fixed": nil, "var": map[string]any{"scale": 1}, "small": nil}, nil, "VariableScaleDecimal"},
	} {
		got, err := f.Decode(nil, nil, []byte(dbzEnvelope(fields, "c", tc.row)))
		if tc.want == nil {
			var re *RecordError
			if !errors.As(err, &re) || re.Reason != ReasonWrongType || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("%s: %v, want a wrong-type record containing %q", tc.name, err, tc.msg)
			}
			continue
		}
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v %v", tc.name, got, err)
		}
		for i, w := range tc.want {
			if g := types.FormatValue(got[0].Row[i+1], s.Fields[i+1].Type); g != w {
				t.Fatalf("%s: column %s = %s, want %s", tc.name, s.Fields[i+1].Name, g, w)
			}
		}
		if v, ok := got[0].Row[2].(types.Decimal128); !ok {
			t.Fatalf("%s: var is %T, want Decimal128", tc.name, got[0].Row[2])
		} else if err := types.CheckValue(v, s.Fields[2].Type); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzVariableScaleDecimal: any JSON object decodes to a value that fits
// the column, or an error; never a panic, never a value that CheckValue
// refuses.
func FuzzVariableScaleDecimal(f *testing.F) {
	for _, seed := range []string{`{"scale":2,"value":"AQI="}`, `{"scale":-5,"value":"/w=="}`, `{"scale":200,"value":"AA=="}`, `{"scale":1}`, `{}`} {
		f.Add([]byte(seed))
	}
	typs := []types.DataType{types.TDecimal(38, 10), types.TDecimal(10, 2), types.TDecimal(19, 0)}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) || len(b) == 0 || b[0] != '{' {
			return
		}
		for _, typ := range typs {
			v, err := variableScaleDecimal(b, typ)
			if err != nil {
				if !errors.Is(err, types.ErrInvalid) {
					t.Fatalf("error without ErrInvalid: %v", err)
				}
				continue
			}
			if err := types.CheckValue(v, typ); err != nil {
				t.Fatalf("%s as %s = %v: %v", b, typ, v, err)
			}
		}
	})
}
