package query

// compileMore compiles the nodes beyond comparisons and logic; nil when
// e has no kernel.
func compileMore(e bexpr) kern {
	return nil
}
