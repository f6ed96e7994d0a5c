package query

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// LIKE.

// likeK is x [NOT] LIKE pattern. A constant pattern of literals around
// at most one leading and one trailing % is matched bytewise (equal,
// prefix, suffix, contains), which is the same as matching runes when no
// literal is U+FFFD (what an invalid byte decodes to); any other pattern
// is matched rune by rune as likeMatch does, without converting values
// to []rune.
type likeK struct {
	x, pattern kern
	pat        []likeTok // the constant pattern; nil when it is computed
	not        bool
	// fast, when set, matches the constant pattern bytewise.
	fast func(s string) bool
}

func newLikeK(e *likeB) kern {
	k := &likeK{x: compileKern(e.x), pattern: compileKern(e.pattern), pat: e.pat, not: e.not}
	if e.pat != nil {
		k.fast = likeFast(e.pat)
	}
	return k
}

// likeFast returns a bytewise matcher for p, or nil.
func likeFast(p []likeTok) func(string) bool {
	lead := len(p) > 0 && p[0].many
	lits := p
	if lead {
		lits = lits[1:]
	}
	trail := len(lits) > 0 && lits[len(lits)-1].many
	if trail {
		lits = lits[:len(lits)-1]
	}
	var lit []byte
	for _, t := range lits {
		if t.one || t.many || t.r == utf8.RuneError {
			return nil
		}
		lit = utf8.AppendRune(lit, t.r)
	}
	l := string(lit)
	switch {
	case lead && trail:
		return func(s string) bool { return strings.Contains(s, l) }
	case lead:
		return func(s string) bool { return strings.HasSuffix(s, l) }
	case trail:
		return func(s string) bool { return strings.HasPrefix(s, l) }
	}
	return func(s string) bool { return s == l }
}

func (k *likeK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	nb := int(bitutil.BytesForBits(int64(n)))
	rn := &vrun{ctx: ctx, b: b, s: s}
	xa := rn.eval(k.x, nil)
	defer xa.Release()
	valid := validOrOnes(xa)
	pat := k.pat
	var po []int32
	var pd []byte
	if pat == nil { // the pattern runs where x is not NULL
		mask := make([]byte, nb)
		for i := range mask {
			mask[i] = valid[i]
			if s.mask != nil {
				mask[i] &= s.mask[i]
			}
		}
		pa := rn.eval(k.pattern, mask)
		defer pa.Release()
		valid = andValid(n, valid, validOrOnes(pa))
		po, pd = varBin(pa)
	}
	xo, xd := varBin(xa)
	val := make([]byte, nb)
	var lastPat string
	havePat := false
	for i := 0; i < n; i++ {
		if !bitutil.BitIsSet(valid, i) {
			continue
		}
		str := unsafeString(xd[xo[i]:xo[i+1]])
		var m bool
		switch {
		case k.fast != nil:
			m = k.fast(str)
		case pat != nil && k.pat != nil:
			m = likeMatchStr(str, pat)
		default:
			ps := unsafeString(pd[po[i]:po[i+1]])
			if !havePat || ps != lastPat {
				pat, lastPat, havePat = compileLike(ps), ps, true
			}
			m = likeMatchStr(str, pat)
		}
		if m != k.not {
			setBit(val, i)
		}
	}
	return newBoolArray(n, val, valid), rn.fail
}

// likeMatchStr is likeMatch over the runes of s, decoded as []rune(s)
// decodes them (an invalid byte is one U+FFFD).
func likeMatchStr(s string, p []likeTok) bool {
	si, pi := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		r, w := utf8.DecodeRuneInString(s[si:])
		switch {
		case pi < len(p) && !p[pi].many && (p[pi].one || p[pi].r == r):
			si += w
			pi++
		case pi < len(p) && p[pi].many:
			starP, starS = pi, si
			pi++
		case starP >= 0:
			_, w2 := utf8.DecodeRuneInString(s[starS:])
			starS += w2
			si, pi = starS, starP+1
		default:
			return false
		}
	}
	for pi < len(p) && p[pi].many {
		pi++
	}
	return pi == len(p)
}
