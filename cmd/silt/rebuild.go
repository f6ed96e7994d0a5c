package main

import (
	"context"
	"fmt"
)

// cmdRebuild is not implemented yet.
func (a *app) cmdRebuild(ctx context.Context, args []string) error {
	return fmt.Errorf("%w: cmdRebuild is not implemented yet", errUsage)
}
