package nftables

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

func newBackend(t testing.TB, ns string) *Backend {
	t.Helper()
	b, err := New(backend.Options{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

var handles = regexp.MustCompile(` # handle \d+`)

// listing is `nft list table` of both families, normalized for comparison
// (handles dropped; chains, sets and elements sorted).
func listing(t testing.TB, ns string) string {
	t.Helper()
	var out strings.Builder
	for _, fam := range []string{"ip", "ip6"} {
		s, err := nftIn(t, ns, "list", "table", fam, TableName)
		if err != nil && !strings.Contains(s, "No such file") {
			t.Fatalf("nft list table %s: %v\n%s", fam, err, s)
		}
		if err == nil {
			out.WriteString(normalize(handles.ReplaceAllString(s, "")) + "\n")
		}
	}
	return out.String()
}

func mustApply(t testing.TB, b *Backend, rs ...*synth.Ruleset) backend.Stats {
	t.Helper()
	st, err := backend.Apply(context.Background(), b, rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// crossCheck applies rs over netlink in one namespace and loads the
// rendered script with nft in another; both kernels must list the same.
func crossCheck(t *testing.T, rs ...*synth.Ruleset) {
	t.Helper()
	nl, cli := newNetNS(t), newNetNS(t)
	mustApply(t, newBackend(t, nl), rs...)
	script, err := Render(rs)
	if err != nil {
		t.Fatal(err)
	}
	nftScript(t, cli, script, false)
	if got, want := listing(t, nl), listing(t, cli); got != want {
		t.Errorf("netlink and nft -f listings differ:\n%s", cmp.Diff(want, got))
	}
}

func TestCrossCheckHand(t *testing.T) {
	crossCheck(t, handRuleset(), handRuleset6())
}

func TestListingNotEmpty(t *testing.T) {
	ns := newNetNS(t)
	mustApply(t, newBackend(t, ns), handRuleset(), handRuleset6())
	l := listing(t, ns)
	for _, want := range []string{"dnat to 10.244.1.2:8080", "numgen random mod 3", "goto svc-3", "goto svc-LOCALAAAAAAAAAAA", "10.96.0.0/12", "dnat to [fd00:10:244::2]:8080", "update @aff-", "map @endpoints", "ip saddr . ip daddr @hairpin"} {
		if !strings.Contains(l, want) {
			t.Errorf("listing lacks %q:\n%s", want, l)
		}
	}
	if testing.Verbose() {
		t.Log(l)
	}
}

// TestCrossCheckDuplicateKeys gives two service ports the same ClusterIP
// and port, which synth never does: a first Apply then falls back from
// streaming the elements to the sorted whole table, so that it programs
// what Render prints (the first port wins).
func TestCrossCheckDuplicateKeys(t *testing.T) {
	rs := handRuleset()
	dup := rs.Services[0].Clone()
	dup.Name.Name, dup.ID = "web-copy", "WEBCOPYAAAAAAAAA"
	dup.ClusterEndpoints = dup.ClusterEndpoints[:1]
	rs.Services = append(rs.Services, &dup)
	m, _, err := buildModel(rs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !hasDuplicateKeys(m) {
		t.Fatal("hasDuplicateKeys misses a ClusterIP:port held by two ports")
	}
	crossCheck(t, rs)
}

// TestStreamedElementsMatchTable checks that a streamed full apply sends
// each element of the whole table once: shared hairpin elements, an
// address a port names twice and endpoints in both lists included.
func TestStreamedElementsMatchTable(t *testing.T) {
	rs := bigRuleset(300)
	rs.Services[1].ClusterEndpoints = rs.Services[2].ClusterEndpoints // shared hairpin pairs
	rs.Services[3].ExternalIPs = addrs("192.168.7.7")                 // named twice
	rs.Services[3].LoadBalancerIPs = addrs("192.168.7.7")
	rs.Services[4].ExternalPolicyLocal, rs.Services[4].NodePort = true, 31234 // local list within the cluster list
	rs.Services[4].LocalEndpoints = rs.Services[4].ClusterEndpoints[:3]
	m, _, err := buildModel(rs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var streamed, whole textEmitter
	replaceTable(&streamed, m, nil, false)
	replace(&whole, m.materialize(), false)
	if got, want := elementLines(streamed.b.String()), elementLines(whole.b.String()); !slices.Equal(got, want) {
		t.Errorf("streamed elements differ from the whole table's:\n%s", cmp.Diff(want, got))
	}
}

// elementLines returns the sorted element commands (one per element) of
// an emitted script.
func elementLines(script string) []string {
	var out []string
	for _, l := range strings.Split(script, "\n") {
		if strings.HasPrefix(l, "add element ") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}
