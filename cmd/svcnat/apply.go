package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

// kernelCommand parses the flags of apply and diff, builds the model and
// opens the backend.
func kernelCommand(ctx context.Context, e *env, name string, args []string) (backend.Backend, synth.Result, error) {
	var m modelFlags
	var b backendFlags
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	m.register(fs)
	b.register(fs, true)
	if err := parseFlags(fs, e, args); err != nil {
		return nil, synth.Result{}, err
	}
	_, res, err := m.load(e)
	if err != nil {
		return nil, res, err
	}
	be, err := b.open(ctx)
	return be, res, err
}

func runApply(ctx context.Context, e *env, args []string) error {
	be, res, err := kernelCommand(ctx, e, "apply", args)
	if err != nil {
		return err
	}
	st, err := be.Apply(ctx, res.Rulesets())
	if err != nil {
		return fmt.Errorf("apply %s: %w", be.Name(), err)
	}
	if st.Changes == 0 {
		fmt.Fprintf(e.stdout, "%s: no changes (the kernel already holds these rules); %d rules, %d elements\n", be.Name(), st.Rules, st.Elements)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s: applied %d changes in %s; %d rules, %d elements\n", be.Name(), st.Changes, st.Duration.Round(time.Microsecond), st.Rules, st.Elements)
	return nil
}

func runDiff(ctx context.Context, e *env, args []string) error {
	be, res, err := kernelCommand(ctx, e, "diff", args)
	if err != nil {
		return err
	}
	out, err := be.Diff(ctx, res.Rulesets())
	if err != nil {
		return fmt.Errorf("diff %s: %w", be.Name(), err)
	}
	if len(out) == 0 {
		fmt.Fprintf(e.stdout, "%s: no changes\n", be.Name())
		return nil
	}
	_, err = e.stdout.Write(out)
	return err
}

func runCleanup(ctx context.Context, e *env, args []string) error {
	var b backendFlags
	fs := pflag.NewFlagSet("cleanup", pflag.ContinueOnError)
	b.register(fs, true)
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	be, err := b.open(ctx)
	if err != nil {
		return err
	}
	if err := be.Cleanup(ctx); err != nil {
		return fmt.Errorf("cleanup %s: %w", be.Name(), err)
	}
	fmt.Fprintf(e.stdout, "%s: removed svcnat's rules\n", be.Name())
	return nil
}
