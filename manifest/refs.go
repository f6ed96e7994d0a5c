package manifest

import (
	"fmt"
	"regexp"

	"github.com/siltdb/silt/types"
)

// MainBranch is the name of the branch every table starts with. Its
// snapshots live directly under snapshot/.
const MainBranch = "main"

var refNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// ValidateRefName checks a tag or branch name: 1-128 characters of
// [A-Za-z0-9_.-], starting with a letter or digit, and not all digits (a
// number in VERSION AS OF means a snapshot id). kind ("tag", "branch")
// names the thing in the error.
func ValidateRefName(kind, name string) error {
	if !refNameRE.MatchString(name) {
		return fmt.Errorf("%w: %s name %q: use 1-128 characters of letters, digits, '_', '.', '-', starting with a letter or digit", types.ErrInvalid, kind, name)
	}
	allDigits := true
	for _, c := range name {
		if c < '0' || c > '9' {
			allDigits = false
			break
		}
	}
	if allDigits {
		return fmt.Errorf("%w: %s name %q: must not be all digits (that reads as a snapshot id)", types.ErrInvalid, kind, name)
	}
	return nil
}
