package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

const usageText = `svcnat-demo is 'make demo': it builds a virtual node out of network namespaces,
starts two web pods, runs 'svcnat run --manifests' in the node on the seed
Service my-app-service (port 80 -> targetPort 8080, nodePort 30080), reaches it
with curl through the NodePort and the ClusterIP, explains the flow, shows the
rules, adds a pod and shows traffic follow. Everything is removed at the end,
also on failure or Ctrl-C; the root network namespace is never touched.

It needs root, iproute2 and curl, and nftables or iptables for the backend;
it checks them first and says what to install.

Usage:
  svcnat-demo [flags]

Examples:
  sudo make demo
  sudo bin/svcnat-demo --svcnat bin/svcnat --backend iptables

Flags:
`

const exitText = `
Exit status: 0 success, 1 the demo failed, 2 usage error or missing
requirement (root, tools).
`

func main() {
	code, err := start(os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "svcnat-demo: %v\n", err)
	}
	os.Exit(code)
}

// start parses the command line, checks the requirements and runs the
// demo; it returns the exit status.
func start(args []string, stdout io.Writer) (int, error) {
	fs := pflag.NewFlagSet("svcnat-demo", pflag.ContinueOnError)
	svcnat := fs.String("svcnat", "bin/svcnat", "path of the svcnat `BINARY` (make build)")
	backendName := fs.String("backend", "nftables", "`BACKEND`: nftables or iptables")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, usageText+fs.FlagUsages()+exitText)
			return 0, nil
		}
		return 2, fmt.Errorf("%w (see svcnat-demo --help)", err)
	}
	if fs.NArg() > 0 {
		return 2, fmt.Errorf("unexpected arguments %q (see svcnat-demo --help)", fs.Args())
	}
	if *backendName != "nftables" && *backendName != "iptables" {
		return 2, fmt.Errorf("--backend %q: want nftables or iptables", *backendName)
	}
	if err := preflight(*backendName, os.Geteuid(), exec.LookPath); err != nil {
		return 2, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := run(ctx, *svcnat, *backendName); err != nil {
		return 1, fmt.Errorf("demo failed: %w", err)
	}
	return 0, nil
}

func run(ctx context.Context, svcnat, backendName string) error {
	d, err := newDemo(svcnat, backendName)
	if err != nil {
		return err
	}
	defer d.close()
	steps := []struct {
		title string
		do    func(context.Context) error
	}{
		{"Build a virtual node: client 192.168.1.10 -> node-1 192.168.1.100 -> pods 10.244.1.2, 10.244.1.3", d.startPods},
		{"Start svcnat run --manifests in node-1 with my-app-service (80 -> 8080, nodePort 30080)", d.startAgent},
		{"client -> http://192.168.1.100:30080 (NodePort)", d.curlNodePort},
		{"pod -> http://10.96.0.80:80 (ClusterIP)", d.curlClusterIP},
		{"svcnat explain default/my-app-service", d.explain},
		{"The rules svcnat programmed in node-1", d.showRules},
		{"Scale: add pod 10.244.1.4 to the EndpointSlice manifest", d.scaleUp},
		{"Traffic follows", d.curlUntilNewPod},
	}
	for i, s := range steps {
		fmt.Printf("\n== %d. %s\n", i+1, s.title)
		if err := s.do(ctx); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, s.title, err)
		}
	}
	fmt.Println("\n== done: removing the namespaces")
	return nil
}
