//go:build fleet

package fleet

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"testing"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

// suite is what every proxy's run shares: the binaries and the settings.
type suite struct {
	repo, dir string
	cfg       config
	bins      map[string]string // proxy kind → binary
	apiserver string
	etcd      string
	// lines are the result lines, printed last.
	lines []string
}

var env *suite

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	s, skip, err := setup()
	switch {
	case skip != "" && os.Getenv("FLEET_REQUIRED") == "1":
		fmt.Fprintf(os.Stderr, "fleet: cannot run (FLEET_REQUIRED=1): %s\n", skip)
		return 1
	case skip != "":
		fmt.Printf("fleet: SKIP: %s\n", skip)
		return 0
	case err != nil:
		fmt.Fprintf(os.Stderr, "fleet: setup: %v\n", err)
		return 1
	}
	env = s
	defer s.teardown()
	code := m.Run()
	for _, l := range s.lines {
		fmt.Println(l)
	}
	return code
}

// setup finds what a run needs, or says why it cannot run here.
func setup() (*suite, string, error) {
	if err := netns.Supported(); err != nil {
		return nil, "netns unavailable: " + err.Error(), nil
	}
	repo, err := labtest.RepoRoot()
	if err != nil {
		return nil, "", err
	}
	cfg, err := loadConfig(repo)
	if err != nil {
		return nil, "", err
	}
	s := &suite{repo: repo, cfg: cfg, bins: map[string]string{}}
	if s.apiserver, err = labtest.KubeAPIServer(repo); err != nil {
		return nil, err.Error(), nil
	}
	if s.etcd, err = labtest.Etcd(repo); err != nil {
		return nil, err.Error(), nil
	}
	if slices.Contains(cfg.proxies, "kube-proxy") {
		if s.bins["kube-proxy"], err = labtest.KubeProxy(repo); err != nil {
			return nil, err.Error(), nil
		}
	}
	if s.dir, err = os.MkdirTemp("", "svcnat-fleet-"); err != nil {
		return nil, "", err
	}
	if slices.Contains(cfg.proxies, "svcnat") {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if s.bins["svcnat"], err = labtest.BuildSvcnat(ctx, repo, s.dir); err != nil {
			s.teardown()
			return nil, "", err
		}
	}
	return s, "", nil
}

func (s *suite) teardown() {
	if s.cfg.keep {
		fmt.Printf("fleet: logs kept in %s\n", s.dir)
		return
	}
	os.RemoveAll(s.dir)
}
