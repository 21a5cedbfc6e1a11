package agent

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

const (
	// startLimit bounds the agent's start-up to its first sync.
	startLimit = 20 * time.Second
	// changeLimit is the promise: traffic follows a file change within it.
	changeLimit = 2 * time.Second
	// testLimit bounds one case on one backend.
	testLimit = 60 * time.Second
)

var webIP = netip.MustParseAddr("10.96.0.10")

// web is the TCP Service most cases use: 10.96.0.10:80 -> :8080.
func web(eps ...endpoint) service {
	return service{name: "web", clusterIP: webIP, port: 80, targetPort: echoPort, endpoints: eps}
}

// TestFileChanges: traffic to a ClusterIP follows edits of the manifest
// folder within changeLimit, and a broken file keeps the last good state.
func TestFileChanges(t *testing.T) {
	forEachBackend(t, testFileChanges)
}

func testFileChanges(t *testing.T, backend string) {
	f := newFixture(t, []netip.Addr{pod1, pod2})
	f.write(t, web(on("node-1", pod1)...))
	a := startAgent(t, f.lab, f.dir, agentOpts{backend: backend})
	ctx, cancel := context.WithTimeout(t.Context(), testLimit)
	defer cancel()
	dst := netip.AddrPortFrom(webIP, 80)
	cl := f.lab.Client
	within(ctx, t, "first sync", time.Now(), startLimit, answeredBy(cl, netns.TCP, dst, pod1))

	steps := []struct {
		what  string
		edit  func() time.Time
		check func(context.Context) error
	}{
		{"add endpoint 2", f.writer(t, web(on("node-1", pod1, pod2)...)), answeredBy(cl, netns.TCP, dst, pod1, pod2)},
		{"remove endpoint 1", f.writer(t, web(on("node-1", pod2)...)), answeredBy(cl, netns.TCP, dst, pod2)},
		{"delete the Service file", func() time.Time { return removeFile(t, f.dir, "web.yaml") }, unreachable(cl, netns.TCP, dst)},
		{"write it again", f.writer(t, web(on("node-1", pod2)...)), answeredBy(cl, netns.TCP, dst, pod2)},
	}
	for _, s := range steps {
		within(ctx, t, s.what, s.edit(), changeLimit, s.check)
	}

	writeFile(t, f.dir, "web.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web\n")
	if err := labtest.Steady(ctx, time.Second, pollInterval, answeredBy(cl, netns.TCP, dst, pod2)); err != nil {
		t.Fatalf("after writing a broken file over a good one: %v", err)
	}
	within(ctx, t, "source error counted", time.Now(), changeLimit, func(ctx context.Context) error {
		return positive(ctx, a, "svcnat_source_errors_total")
	})
}

// writer returns an edit that writes s.
func (f *fixture) writer(t *testing.T, s service) func() time.Time {
	return func() time.Time { return writeFile(t, f.dir, s.name+".yaml", s.yaml()) }
}

// within fails t unless check succeeds within limit of since, and logs how
// long it took.
func within(ctx context.Context, t *testing.T, what string, since time.Time, limit time.Duration, check func(context.Context) error) time.Duration {
	t.Helper()
	d, err := labtest.EventuallySince(ctx, since, limit, pollInterval, check)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Logf("%s: after %v", what, d.Round(time.Millisecond))
	return d
}
