package kubeproxy

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"github.com/svcnat/svcnat/kubeproxy/internal/upstream"
)

// These tests read the kube-proxy v1.37.2 sources (from the module cache, or
// through the module proxy) and compare them with Reference.

func namesOf(kind Kind, keep func(Entry) bool) []string {
	var names []string
	for _, e := range Reference {
		if e.Kind == kind && (keep == nil || keep(e)) {
			names = append(names, e.Name)
		}
	}
	slices.Sort(names)
	return names
}

// diffLists reports the names only upstream has and the names only the
// table has.
func diffLists(t *testing.T, what string, upstreamNames, ours []string) {
	t.Helper()
	for _, n := range upstreamNames {
		if !slices.Contains(ours, n) {
			t.Errorf("upstream %s %q is missing from Reference", what, n)
		}
	}
	for _, n := range ours {
		if !slices.Contains(upstreamNames, n) {
			t.Errorf("Reference has %s %q, which kube-proxy %s does not have", what, n, upstream.Version)
		}
	}
}

func TestUpstreamFlags(t *testing.T) {
	linux, windows, err := upstream.Flags()
	if err != nil {
		t.Fatal(err)
	}
	if len(linux) < 50 {
		t.Fatalf("only %d flags parsed from upstream: the parser is broken", len(linux))
	}
	// help is cobra's own flag, not registered by kube-proxy's code.
	t.Logf("%d Linux flags, %d Windows-only flags upstream", len(linux), len(windows))
	diffLists(t, "flag", append(linux, "help"), namesOf(KindFlag, func(e Entry) bool { return e.Disposition != Refused }))
	slices.Sort(windows)
	diffLists(t, "Windows-only flag", windows, namesOf(KindFlag, func(e Entry) bool { return e.Disposition == Refused }))
}

func TestUpstreamMetrics(t *testing.T) {
	metrics, err := upstream.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	if len(metrics) < 20 {
		t.Fatalf("only %d metrics parsed from upstream: the parser is broken", len(metrics))
	}
	t.Logf("%d metrics upstream", len(metrics))
	diffLists(t, "metric", metrics, namesOf(KindMetric, nil))
}

// TestUpstreamFeatureGates: zz_featuregates.go is what the generator makes
// from the sources (go generate ./kubeproxy rewrites it).
func TestUpstreamFeatureGates(t *testing.T) {
	want, err := upstream.GatesFile("kubeproxy")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("zz_featuregates.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("zz_featuregates.go differs from the kube-proxy sources: run go generate ./kubeproxy")
	}
}

func TestFeatureGateKnowsKubeProxyGates(t *testing.T) {
	g, err := NewFeatureGate()
	if err != nil {
		t.Fatal(err)
	}
	known := g.GetAll()
	for _, name := range []string{"KubeProxyIPVS", "KubeProxyNFTablesLocalhostNodePorts", "ContextualLogging", "LoggingAlphaOptions", "ComponentFlagz", "NativeHistograms", "ClientsAllowCBOR", "AllAlpha", "AllBeta", "MultiCIDRServiceAllocator"} {
		if _, ok := known[featureName(name)]; !ok {
			t.Errorf("gate %s is unknown", name)
		}
	}
}
