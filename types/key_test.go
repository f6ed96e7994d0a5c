package types

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/cespare/xxhash/v2"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/testkit"
)

// testRand returns a generator seeded from -seed, SILT_SEED or the clock,
// and logs the seed so a failure can be replayed.
func testRand(t *testing.T) *rand.Rand {
	t.Helper()
	return rand.New(rand.NewPCG(testkit.Seed(t), 0x6b6579))
}

// keyKinds are the key-eligible column kinds.
var keyKinds = []Kind{Boolean, Int, BigInt, DecimalKind, String, Bytes, DateKind, TimestampKind}

// keyAlphabet is small so random strings tie, prefix each other and hit the
// escape byte (0x00), the terminator byte (0x01) and the maximum byte.
var keyAlphabet = []byte{0x00, 0x01, 0x02, 'a', 'b', 0xFE, 0xFF}

var (
	edgeInt32 = []int32{math.MinInt32, math.MinInt32 + 1, -256, -1, 0, 1, 255, 256, math.MaxInt32 - 1, math.MaxInt32}
	edgeInt64 = []int64{math.MinInt64, math.MinInt64 + 1, math.MinInt32, -1 << 32, -1, 0, 1, 1 << 32,
		math.MaxInt32, math.MaxInt64 - 1, math.MaxInt64}
)

func randInt32(r *rand.Rand) int32 {
	switch r.IntN(3) {
	case 0:
		return edgeInt32[r.IntN(len(edgeInt32))]
	case 1:
		return int32(r.IntN(7) - 3)
	}
	return int32(r.Uint32())
}

func randInt64(r *rand.Rand) int64 {
	switch r.IntN(3) {
	case 0:
		return edgeInt64[r.IntN(len(edgeInt64))]
	case 1:
		return int64(r.IntN(7) - 3)
	}
	return int64(r.Uint64())
}

// randKeyBytes returns a short byte string; with pool values of the same
// column available it often derives a prefix or an extension of one.
func randKeyBytes(r *rand.Rand, pool [][]byte) []byte {
	if len(pool) > 0 && r.IntN(2) == 0 {
		p := pool[r.IntN(len(pool))]
		if r.IntN(2) == 0 && len(p) > 0 {
			return bytes.Clone(p[:r.IntN(len(p))])
		}
		out := bytes.Clone(p)
		for n := 1 + r.IntN(2); n > 0; n-- {
			out = append(out, keyAlphabet[r.IntN(len(keyAlphabet))])
		}
		return out
	}
	out := make([]byte, r.IntN(6))
	for i := range out {
		out[i] = keyAlphabet[r.IntN(len(keyAlphabet))]
	}
	return out
}

func randKeyValue(r *rand.Rand, k Kind, pool [][]byte) Value {
	switch k {
	case Boolean:
		return r.IntN(2) == 0
	case Int:
		return randInt32(r)
	case BigInt:
		return randInt64(r)
	case DecimalKind:
		return Decimal(randInt64(r))
	case String:
		return string(randKeyBytes(r, pool))
	case Bytes:
		b := randKeyBytes(r, pool)
		if len(b) == 0 && r.IntN(2) == 0 {
			b = nil // nil and empty encode alike
		}
		return b
	case DateKind:
		return Date(randInt32(r))
	case TimestampKind:
		return Timestamp(randInt64(r))
	}
	panic(k)
}

func compareTuples(a, b []Value) int {
	for i := range a {
		if c := Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

func fmtTuple(vals []Value) string {
	s := "("
	for i, v := range vals {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%T %#v", v, v)
	}
	return s + ")"
}

// TestKeyEncodingProperties checks, over random tuples of 1-4 key columns,
// that the byte order of encodings is the column-by-column Compare order,
// that DecodeKey inverts EncodeKey, and that EncodeRowKey agrees with
// EncodeKey.
func TestKeyEncodingProperties(t *testing.T) {
	r := testRand(t)
	shapes, perShape := 1500, 40
	if testing.Short() {
		shapes = 100
	}
	for range shapes {
		kinds := make([]Kind, 1+r.IntN(4))
		for i := range kinds {
			kinds[i] = keyKinds[r.IntN(len(keyKinds))]
		}
		pools := make([][][]byte, len(kinds))
		tuples := make([][]Value, perShape)
		encs := make([][]byte, perShape)
		for n := range tuples {
			tup := make([]Value, len(kinds))
			for i, k := range kinds {
				// Often copy an earlier tuple's column so later columns decide.
				if n > 0 && r.IntN(3) == 0 {
					tup[i] = tuples[r.IntN(n)][i]
					continue
				}
				v := randKeyValue(r, k, pools[i])
				switch x := v.(type) {
				case string:
					pools[i] = append(pools[i], []byte(x))
				case []byte:
					pools[i] = append(pools[i], x)
				}
				tup[i] = v
			}
			tuples[n] = tup

			enc, err := EncodeKey(nil, tup...)
			if err != nil {
				t.Fatalf("EncodeKey%s: %v", fmtTuple(tup), err)
			}
			encs[n] = enc

			// Appending to a non-empty dst keeps dst.
			withPrefix, err := EncodeKey([]byte("pre"), tup...)
			if err != nil || !bytes.Equal(withPrefix, append([]byte("pre"), enc...)) {
				t.Fatalf("EncodeKey(\"pre\", %s) = %x, %v; want pre+%x", fmtTuple(tup), withPrefix, err, enc)
			}

			// Round trip with the same Go types.
			dec, err := DecodeKey(enc)
			if err != nil {
				t.Fatalf("DecodeKey(%x) of %s: %v", enc, fmtTuple(tup), err)
			}
			if len(dec) != len(tup) {
				t.Fatalf("DecodeKey(%x) = %s, want %s", enc, fmtTuple(dec), fmtTuple(tup))
			}
			for i := range tup {
				if reflect.TypeOf(dec[i]) != reflect.TypeOf(tup[i]) || Compare(dec[i], tup[i]) != 0 {
					t.Fatalf("DecodeKey(%x) = %s, want %s", enc, fmtTuple(dec), fmtTuple(tup))
				}
			}

			// EncodeRowKey picks the key columns out of a wider row.
			row := make(Row, len(tup)+3)
			for i := range row {
				row[i] = []Value{nil, 1.5, float32(2)}[i%3] // never key values
			}
			idx := r.Perm(len(row))[:len(tup)]
			for i, j := range idx {
				row[j] = tup[i]
			}
			rk, err := EncodeRowKey(nil, row, idx)
			if err != nil || !bytes.Equal(rk, enc) {
				t.Fatalf("EncodeRowKey(%s, %v) = %x, %v; want %x", fmtTuple(row), idx, rk, err, enc)
			}
		}
		for i := range tuples {
			for j := range tuples {
				want := sign(compareTuples(tuples[i], tuples[j]))
				if got := sign(bytes.Compare(encs[i], encs[j])); got != want {
					t.Fatalf("kinds %v: bytes.Compare(enc %s, enc %s) = %d, Compare says %d\n%x\n%x",
						kinds, fmtTuple(tuples[i]), fmtTuple(tuples[j]), got, want, encs[i], encs[j])
				}
			}
		}
	}
}

// TestKeyEncodingOrderEdges pins the orderings the random test could miss:
// strings that are prefixes of each other and contain the escape bytes.
func TestKeyEncodingOrderEdges(t *testing.T) {
	ascending := [][]Value{
		{""}, {"\x00"}, {"\x00\x00"}, {"\x00\x01"}, {"\x00\xff"}, {"\x01"}, {"a"}, {"a\x00"}, {"a\x00\x00"},
		{"a\x00b"}, {"a\x01"}, {"ab"}, {"a\xff"}, {"b"}, {"\xff"}, {"\xff\x00"}, {"\xff\xff"},
	}
	for _, tc := range []struct {
		name string
		vals [][]Value
	}{
		{"strings", ascending},
		{"string then int", [][]Value{
			{"a", int32(math.MaxInt32)}, {"a\x00", int32(math.MinInt32)}, {"a\x00", int32(0)}, {"ab", int32(math.MinInt32)},
		}},
		{"int64", [][]Value{{int64(math.MinInt64)}, {int64(-1)}, {int64(0)}, {int64(1)}, {int64(math.MaxInt64)}}},
		{"int32", [][]Value{{int32(math.MinInt32)}, {int32(-1)}, {int32(0)}, {int32(math.MaxInt32)}}},
		{"decimal", [][]Value{{Decimal(math.MinInt64)}, {Decimal(-5)}, {Decimal(0)}, {Decimal(math.MaxInt64)}}},
		{"date", [][]Value{{Date(math.MinInt32)}, {Date(-1)}, {Date(0)}, {Date(math.MaxInt32)}}},
		{"timestamp", [][]Value{{Timestamp(math.MinInt64)}, {Timestamp(-1)}, {Timestamp(0)}, {Timestamp(math.MaxInt64)}}},
		{"bool", [][]Value{{false}, {true}}},
		{"bytes", [][]Value{{[]byte{}}, {[]byte{0}}, {[]byte{0, 0}}, {[]byte{0, 1}}, {[]byte{1}}, {[]byte{0xff}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var prev []byte
			for i, v := range tc.vals {
				enc, err := EncodeKey(nil, v...)
				if err != nil {
					t.Fatal(err)
				}
				if i > 0 && bytes.Compare(prev, enc) >= 0 {
					t.Errorf("enc%s = %x is not above enc%s = %x", fmtTuple(v), enc, fmtTuple(tc.vals[i-1]), prev)
				}
				prev = enc
			}
		})
	}
}

func TestEncodeKeyRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals []Value
		msg  string
	}{
		{"null", []Value{nil}, "NULL in primary key"},
		{"null after valid", []Value{int64(1), "a", nil}, "NULL in primary key"},
		{"float32", []Value{float32(1)}, "floating-point"},
		{"float64", []Value{"a", 2.5}, "floating-point"},
		{"go int", []Value{1}, "unsupported key value of Go type int"},
		{"time.Time", []Value{time.Unix(0, 0)}, "unsupported key value of Go type time.Time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := EncodeKey([]byte("dst"), tc.vals...)
			checkErr(t, err, ErrInvalid, tc.msg)
			if enc != nil {
				t.Errorf("EncodeKey returned %x with an error", enc)
			}
			row := append(Row{"pad"}, tc.vals...)
			idx := make([]int, len(tc.vals))
			for i := range idx {
				idx[i] = i + 1
			}
			_, err = EncodeRowKey(nil, row, idx)
			checkErr(t, err, ErrInvalid, tc.msg)
		})
	}
}

func TestDecodeKeyCorrupt(t *testing.T) {
	for _, tc := range []struct {
		hex string
		msg string
	}{
		{"00", "bad key tag 0"},
		{"04", "bad key tag 4"}, // FLOAT is never a key
		{"05", "bad key tag 5"},
		{"0b", "truncated key encoding"}, // TIME needs 8 bytes
		{"11", "bad key tag 17"},
		{"86", "truncated key encoding"}, // DECIMAL(p > 18) needs 16 bytes
		{"87", "bad key tag 135"},
		{"ff", "bad key tag 255"},
		{"01", "truncated key encoding"},
		{"0102", "bad BOOLEAN byte"},
		{"01ff", "bad BOOLEAN byte"},
		{"02800000", "truncated key encoding"},
		{"0380000000000000", "truncated key encoding"},
		{"06", "truncated key encoding"},
		{"0a00", "truncated key encoding"},
		{"07", "unterminated key string"},
		{"076162", "unterminated key string"},
		{"0761", "unterminated key string"},
		{"076100", "truncated key string"},
		{"076100ff", "unterminated key string"},
		{"08610002", "bad escape in key string"},
		{"080000", "bad escape in key string"},
		{"03000000000000000111", "bad key tag 17"}, // garbage after a valid column
	} {
		b, err := hex.DecodeString(tc.hex)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := DecodeKey(b)
		if vals != nil {
			t.Errorf("DecodeKey(%s) = %v with error", tc.hex, vals)
		}
		t.Run(tc.hex, func(t *testing.T) { checkErr(t, err, ErrCorruption, tc.msg) })
	}
	if vals, err := DecodeKey(nil); err != nil || len(vals) != 0 {
		t.Errorf("DecodeKey(nil) = %v, %v; want empty", vals, err)
	}
}

// TestKeyEncodingGolden pins the on-storage key format and bucket hash.
// If this fails, the encoding changed: that needs a data-file format
// version bump, not a new golden value.
func TestKeyEncodingGolden(t *testing.T) {
	for _, tc := range []struct {
		vals    []Value
		hex     string
		buckets [3]int // n = 1, 4, 16
	}{
		{[]Value{int64(1)}, "038000000000000001", [3]int{0, 3, 3}},
		{[]Value{int64(math.MinInt64), int64(math.MaxInt64)}, "030000000000000000" + "03ffffffffffffffff", [3]int{0, 0, 8}},
		{[]Value{int32(-1), "a\x00b"}, "027fffffff" + "076100ff620001", [3]int{0, 2, 2}},
		{[]Value{true, false, Date(0), Date(-1)}, "0101" + "0100" + "0980000000" + "097fffffff", [3]int{0, 1, 13}},
		{[]Value{Timestamp(1_700_000_000_000_000), Timestamp(-1)}, "0a80060a24181e4000" + "0a7fffffffffffffff", [3]int{0, 1, 1}},
		{[]Value{Decimal(-12345), []byte{0x00, 0xff, 0x01}, ""}, "067fffffffffffcfc7" + "0800ffff010001" + "070001", [3]int{0, 2, 10}},
		{[]Value{"tenant-7", int32(42)}, "0774656e616e742d370001" + "028000002a", [3]int{0, 1, 9}},
	} {
		enc, err := EncodeKey(nil, tc.vals...)
		if err != nil {
			t.Fatalf("EncodeKey%s: %v", fmtTuple(tc.vals), err)
		}
		if got := hex.EncodeToString(enc); got != tc.hex {
			t.Errorf("EncodeKey%s = %s, want %s", fmtTuple(tc.vals), got, tc.hex)
		}
		for i, n := range []int{1, 4, 16} {
			if got := Bucket(enc, n); got != tc.buckets[i] {
				t.Errorf("Bucket(enc%s, %d) = %d, want %d", fmtTuple(tc.vals), n, got, tc.buckets[i])
			}
		}
	}
}

// TestBucketIsXXHash64 checks Bucket against xxHash64 and its range.
func TestBucketIsXXHash64(t *testing.T) {
	r := testRand(t)
	for range 2000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		n := 1 + r.IntN(1000)
		got := Bucket(b, n)
		if want := int(xxhash.Sum64(b) % uint64(n)); n > 1 && got != want {
			t.Fatalf("Bucket(%x, %d) = %d, want %d", b, n, got, want)
		}
		if got < 0 || got >= n {
			t.Fatalf("Bucket(%x, %d) = %d out of range", b, n, got)
		}
	}
	for _, n := range []int{-1, 0, 1} {
		if got := Bucket([]byte("x"), n); got != 0 {
			t.Errorf("Bucket(x, %d) = %d, want 0", n, got)
		}
	}
}

// TestBucketDistribution: structured keys (only even ids, ids with a common
// stride, short strings) spread evenly over power-of-two and other bucket
// counts. A hash whose low bits are the parity of the input fails this.
func TestBucketDistribution(t *testing.T) {
	const keys = 20000
	for _, gen := range []struct {
		name string
		key  func(i int) Value
	}{
		{"even ids", func(i int) Value { return int64(2 * i) }},
		{"stride 16", func(i int) Value { return int64(16 * i) }},
		{"int ids", func(i int) Value { return int32(i) }},
		{"strings", func(i int) Value { return fmt.Sprintf("user-%d", i) }},
	} {
		for _, n := range []int{2, 4, 16, 64, 10} {
			counts := make([]int, n)
			for i := 0; i < keys; i++ {
				enc, err := EncodeKey(nil, gen.key(i))
				if err != nil {
					t.Fatal(err)
				}
				counts[Bucket(enc, n)]++
			}
			want := float64(keys) / float64(n)
			for b, c := range counts {
				if float64(c) < 0.8*want || float64(c) > 1.2*want {
					t.Errorf("%s over %d buckets: bucket %d has %d keys, want about %.0f (all: %v)", gen.name, n, b, c, want, counts)
					break
				}
			}
		}
	}
}

// checkErr fails unless err wraps kind and its message contains msg.
func checkErr(t *testing.T, err, kind error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v containing %q", kind, msg)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q does not wrap %v", err, kind)
	}
	if !bytes.Contains([]byte(err.Error()), []byte(msg)) {
		t.Errorf("error %q does not contain %q", err, msg)
	}
}
