package main

import (
	"context"
	"fmt"
)

// cmdMaintain is not implemented yet.
func (a *app) cmdMaintain(ctx context.Context, args []string) error {
	return fmt.Errorf("%w: cmdMaintain is not implemented yet", errUsage)
}

// cmdLifecycle is not implemented yet.
func (a *app) cmdLifecycle(ctx context.Context, args []string) error {
	return fmt.Errorf("%w: cmdLifecycle is not implemented yet", errUsage)
}
