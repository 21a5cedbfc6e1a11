package main

import (
	"context"
	"errors"
)

func runAgent(ctx context.Context, e *env, args []string) error {
	return errors.New("the node agent is not wired yet")
}
