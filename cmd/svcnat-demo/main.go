package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	svcnat := flag.String("svcnat", "bin/svcnat", "path of the svcnat binary")
	backendName := flag.String("backend", "nftables", "backend: nftables or iptables")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	err := run(ctx, *svcnat, *backendName)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo failed: %v\n", err)
		os.Exit(1)
	}
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
