package agent

import (
	"net/netip"
	"testing"

	"github.com/svcnat/svcnat/netns"
	"github.com/svcnat/svcnat/netns/netnstest"
)

// The lab's fixed addresses (netns defaults) and the tests' pods.
var (
	nodeIP = netip.MustParseAddr("192.168.1.100")
	pod1   = netip.MustParseAddr("10.244.1.11")
	pod2   = netip.MustParseAddr("10.244.1.12")
	pod3   = netip.MustParseAddr("10.244.1.13")
	remote = netip.MustParseAddr("10.244.2.21") // a pod on node-2
)

// echoPort is where every pod serves TCP and UDP echo.
const echoPort = 8080

// backends are the rule backends every case runs on.
var backends = []string{"nftables", "iptables"}

// forEachBackend runs fn as one subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) { fn(t, b) })
	}
}

// fixture is a lab with echo pods and an empty manifest folder.
type fixture struct {
	lab *netns.Lab
	dir string
}

// newFixture builds a lab (skipping without root) with a TCP and UDP echo
// pod on node-1 for each of local and on node-2 for each of remotes.
func newFixture(t *testing.T, local []netip.Addr, remotes ...netip.Addr) *fixture {
	t.Helper()
	needSvcnat(t)
	f := &fixture{lab: netnstest.NewLab(t), dir: t.TempDir()}
	for i, ip := range local {
		f.addPod(t, "web"+string(rune('a'+i)), ip, false)
	}
	for i, ip := range remotes {
		f.addPod(t, "far"+string(rune('a'+i)), ip, true)
	}
	return f
}

func (f *fixture) addPod(t *testing.T, name string, ip netip.Addr, remote bool) {
	t.Helper()
	add := f.lab.AddPod
	if remote {
		add = f.lab.AddRemotePod
	}
	pod, err := add(name, ip)
	if err != nil {
		t.Fatal(err)
	}
	for _, proto := range []netns.Proto{netns.TCP, netns.UDP} {
		if _, err := pod.Serve(proto, echoPort); err != nil {
			t.Fatal(err)
		}
	}
}

// write writes s into its own file, <name>.yaml.
func (f *fixture) write(t *testing.T, s service) {
	t.Helper()
	writeFile(t, f.dir, s.name+".yaml", s.yaml())
}
