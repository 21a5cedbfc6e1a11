package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/svcnat/svcnat/kubeproxy"
)

// TestExitsWhenConfigChanges: like kube-proxy, run stops with an error when
// its --config file changes, so that the pod restarts with the new file;
// without a change it runs until its context ends.
func TestExitsWhenConfigChanges(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "config.conf")
	if err := os.WriteFile(conf, []byte("mode: nftables\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &kubeproxy.Settings{ConfigFile: conf}
	agent := func(ctx context.Context) error { <-ctx.Done(); return nil }

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := runUntilConfigChanges(ctx, s, agent); err != nil {
		t.Fatalf("unchanged file: %v", err)
	}

	done := make(chan error, 1)
	go func() { done <- runUntilConfigChanges(context.Background(), s, agent) }()
	time.Sleep(200 * time.Millisecond) // the watch is set up
	if err := os.WriteFile(conf, []byte("mode: iptables\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "configuration file") {
			t.Errorf("after a change: %v, want the configuration file error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop within 10 s of a change of its --config file")
	}
}

// TestStopIsNotAConfigChange: when run is stopped (SIGTERM) and the agent
// takes a while to return, the file watch ends first; that must not be
// reported as a change of the file (an exit status 1 and a false reason).
func TestStopIsNotAConfigChange(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "config.conf")
	if err := os.WriteFile(conf, []byte("mode: nftables\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &kubeproxy.Settings{ConfigFile: conf}
	slowStop := func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(500 * time.Millisecond) // longer than the watch's poll
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := runUntilConfigChanges(ctx, s, slowStop); err != nil {
		t.Fatalf("stopped, file unchanged: %v, want nil", err)
	}
}
