//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/internal/labtest/kubelab"
	"github.com/svcnat/svcnat/netns"
)

// Addresses of the virtual cluster (the netns kit's defaults).
const (
	serviceCIDR = "10.96.0.0/16"
	clusterCIDR = "10.244.0.0/16"
	nodeName    = "node-1"
	node2Name   = "node-2"
	// buildLimit bounds compiling svcnat (a cold cache on a busy machine).
	buildLimit = 5 * time.Minute
)

// suite is what TestMain builds once for every case: one lab, one API
// server, one agent. Cases run one after the other (no t.Parallel) and each
// uses its own Services and pods.
type suite struct {
	dir     string
	repo    string
	lab     *netns.Lab
	cluster *kubelab.Cluster
	agent   *agent
	// agentErr is why the agent did not start (cases needing it fail).
	agentErr error
	// svcnatBin is the svcnat binary under test.
	svcnatBin string
	lat       *latencies
}

var env *suite

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

// runMain returns the exit code; its deferred cleanups run before os.Exit.
func runMain(m *testing.M) int {
	s, why, err := setup()
	if s != nil {
		defer s.teardown()
	}
	switch {
	case why != "" && os.Getenv("E2E_REQUIRED") == "1":
		fmt.Fprintf(os.Stderr, "e2e: cannot run (E2E_REQUIRED=1): %s\n", why)
		return 1
	case why != "":
		fmt.Printf("e2e: SKIP the whole suite: %s\n", why)
		return 0
	case err != nil:
		fmt.Fprintf(os.Stderr, "e2e: setup failed: %v\n", err)
		if s != nil {
			s.dumpLogs()
		}
		return 1
	}
	env = s
	code := m.Run()
	s.lat.report(os.Stdout, s.summaryPath())
	if code != 0 {
		s.dumpLogs()
	}
	return code
}

// setup returns a reason to skip when a prerequisite is missing, or the
// error of a failed start-up (with s set so that what started is stopped).
func setup() (s *suite, skip string, err error) {
	if err := netns.Supported(); err != nil {
		return nil, "netns lab unavailable: " + err.Error(), nil
	}
	repo, err := labtest.RepoRoot()
	if err != nil {
		return nil, "", err
	}
	apiserverBin, err := labtest.KubeAPIServer(repo)
	if err != nil {
		return nil, err.Error(), nil
	}
	etcdBin, err := labtest.Etcd(repo)
	if err != nil {
		return nil, err.Error(), nil
	}
	s = &suite{repo: repo, lat: newLatencies()}
	if s.dir, err = os.MkdirTemp("", "svcnat-e2e-"); err != nil {
		return nil, "", err
	}
	return s, "", s.start(apiserverBin, etcdBin)
}

func (s *suite) start(apiserverBin, etcdBin string) error {
	build, cancelBuild := context.WithTimeout(context.Background(), buildLimit)
	defer cancelBuild()
	svcnatBin, err := labtest.BuildSvcnat(build, s.repo, s.dir)
	if err != nil {
		return err
	}
	s.svcnatBin = svcnatBin
	if s.lab, err = netns.New("svcnat-e2e"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t0 := time.Now()
	s.cluster, err = kubelab.Start(ctx, kubelab.Options{
		Dir: s.dir, Host: s.lab.Client, Addr: s.lab.Client.IPv4(),
		APIServerBin: apiserverBin, EtcdBin: etcdBin,
		APIServerArgs: []string{"--service-cluster-ip-range=" + serviceCIDR},
	})
	if err != nil {
		return err
	}
	fmt.Printf("e2e: kube-apiserver ready at %s in %v (dir %s)\n", s.cluster.APIAddr(), time.Since(t0).Round(time.Millisecond), s.dir)
	if err := createNodes(ctx, s.cluster.Client(), s.lab); err != nil {
		return err
	}
	// An agent that does not start fails every case that needs it (with
	// its log), not the API server cases.
	s.agent = newAgent(s, svcnatBin)
	s.agentErr = s.agent.start(ctx)
	if s.agentErr != nil {
		fmt.Printf("e2e: svcnat run did not start: %v\n", s.agentErr)
	}
	return nil
}

func (s *suite) summaryPath() string {
	return envOr("E2E_SUMMARY", filepath.Join(s.repo, ".cache/e2e-latency.txt"))
}

// teardown stops every process and removes the lab and the temp dir.
func (s *suite) teardown() {
	var errs []error
	if s.agent != nil {
		errs = append(errs, s.agent.stop())
	}
	if s.cluster != nil {
		errs = append(errs, s.cluster.Stop())
	}
	if s.lab != nil {
		errs = append(errs, s.lab.Close())
	}
	if os.Getenv("E2E_KEEP") == "" {
		errs = append(errs, os.RemoveAll(s.dir))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: teardown: %v\n", err)
	}
}

// dumpLogs prints the end of every process log, after a failure.
func (s *suite) dumpLogs() {
	for _, p := range s.procs() {
		fmt.Fprintf(os.Stderr, "\n===== %s (%s), last lines =====\n%s\n", p.Name(), p.LogPath(), p.LogTail(0, 6000))
	}
}

func (s *suite) procs() []*labtest.Proc {
	var ps []*labtest.Proc
	if s.cluster != nil {
		ps = append(ps, s.cluster.Procs()...)
	}
	if s.agent != nil {
		ps = append(ps, s.agent.Proc)
	}
	return ps
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
