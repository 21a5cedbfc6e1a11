package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// cpuProfile is the hidden --cpuprofile flag of every command: it writes a
// CPU profile of the whole process (read, model, render or kernel), which is
// what the one-shot commands' benchmarks measure. A Go benchmark of one
// package cannot show how the stages weigh against each other.
type cpuProfile struct {
	path string
	file *os.File
}

func (p *cpuProfile) register(root *cobra.Command) {
	root.PersistentFlags().StringVar(&p.path, "cpuprofile", "", "write a CPU profile of the command to `FILE` (go tool pprof)")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
}

// start begins profiling when the flag is set.
func (p *cpuProfile) start() error {
	if p.path == "" {
		return nil
	}
	f, err := os.Create(p.path)
	if err != nil {
		return usagef("--cpuprofile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("start CPU profile: %w", err)
	}
	p.file = f
	return nil
}

// stop ends profiling, if it started, and closes the file.
func (p *cpuProfile) stop() error {
	if p.file == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := p.file.Close()
	p.file = nil
	if err != nil {
		return fmt.Errorf("write CPU profile: %w", err)
	}
	return nil
}
