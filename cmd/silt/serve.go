package main

import (
	"context"
	"fmt"
)

// cmdServe is not implemented yet.
func (a *app) cmdServe(ctx context.Context, args []string) error {
	return fmt.Errorf("%w: cmdServe is not implemented yet", errUsage)
}
