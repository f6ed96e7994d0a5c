package stream

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/siltdb/silt/types"
)

// DECIMAL values of up to 38 digits from Kafka Connect and Debezium. A
// Connect Decimal (base64 of the unscaled big-endian two's complement, the
// scale in the schema) and Debezium's io.debezium.data.VariableScaleDecimal
// (a struct {"scale": n, "value": base64}, the scale in each value, what
// PostgreSQL NUMERIC without a declared precision and Oracle NUMBER give)
// go into a DECIMAL(p,s) column exactly: a value with more fractional
// digits than s (other than trailing zeros) or more integer digits than
// p-s is refused with that reason, and the record goes to the dead-letter
// queue; nothing is rounded.

const logicalVariableScaleDecimal = "io.debezium.data.VariableScaleDecimal"

// maxDecimalBytes bounds the unscaled bytes of one Connect decimal value;
// 38 digits need 16.
const maxDecimalBytes = 64

// maxVariableScale bounds the scale of a VariableScaleDecimal (Oracle's
// NUMBER scale is -84..127).
const maxVariableScale = 130

// unscaledOf decodes base64 of a big-endian two's complement integer.
func unscaledOf(s string) (*big.Int, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || len(b) > maxDecimalBytes {
		return nil, false
	}
	n := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n, true
}

// decimalText renders an unscaled value at scale (negative: trailing
// zeros) as decimal text.
func decimalText(n *big.Int, scale int) string {
	str := n.String()
	neg := strings.HasPrefix(str, "-")
	str = strings.TrimPrefix(str, "-")
	if scale < 0 {
		if str != "0" {
			str += strings.Repeat("0", -scale)
		}
		scale = 0
	}
	for len(str) <= scale {
		str = "0" + str
	}
	if scale > 0 {
		str = str[:len(str)-scale] + "." + str[len(str)-scale:]
	}
	if neg {
		str = "-" + str
	}
	return str
}

// variableScaleDecimal decodes a VariableScaleDecimal struct into DECIMAL
// column type t.
func variableScaleDecimal(raw json.RawMessage, t types.DataType) (types.Value, error) {
	var v struct {
		Scale *int    `json:"scale"`
		Value *string `json:"value"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || v.Scale == nil || v.Value == nil {
		return nil, fmt.Errorf("%w: bad %s %s (want {\"scale\": n, \"value\": base64})", types.ErrInvalid, logicalVariableScaleDecimal, clip(raw))
	}
	if *v.Scale < -maxVariableScale || *v.Scale > maxVariableScale {
		return nil, fmt.Errorf("%w: %s scale %d out of range", types.ErrInvalid, logicalVariableScaleDecimal, *v.Scale)
	}
	n, ok := unscaledOf(*v.Value)
	if !ok {
		return nil, fmt.Errorf("%w: bad %s value %q", types.ErrInvalid, logicalVariableScaleDecimal, clip([]byte(*v.Value)))
	}
	return decimalInto(decimalText(n, *v.Scale), t)
}

// decimalInto converts exact decimal text to column type t, naming the
// column's type when the value does not fit it.
func decimalInto(text string, t types.DataType) (types.Value, error) {
	v, err := types.ParseText(text, t)
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not fit %s exactly (silt does not round: widen the column's precision, up to %d, or use a column with a larger scale)", types.ErrInvalid, clip([]byte(text)), t, types.MaxDecimalPrecision)
	}
	return v, nil
}

// isVariableScaleDecimal says whether raw (a JSON object) is shaped like a
// VariableScaleDecimal: exactly the members scale and value.
func isVariableScaleDecimal(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || len(m) != 2 {
		return false
	}
	_, s := m["scale"]
	_, v := m["value"]
	return s && v
}

// clip shortens text quoted in an error.
func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
