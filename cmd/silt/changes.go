package main

import (
	"context"
	"fmt"
)

// cmdChanges is not implemented yet.
func (a *app) cmdChanges(ctx context.Context, args []string) error {
	return fmt.Errorf("%w: cmdChanges is not implemented yet", errUsage)
}
