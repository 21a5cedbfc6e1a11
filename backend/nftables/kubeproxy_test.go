package nftables

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/netns/netnstest"
)

// TestCleanupKubeProxy deletes kube-proxy's tables and nothing else.
func TestCleanupKubeProxy(t *testing.T) {
	ns := netnstest.Scratch(t, "nft-kp")
	load := exec.Command("nsenter", "--net="+ns, "--", "nft", "-f", "-")
	load.Stdin = strings.NewReader(`
table ip kube-proxy {
	chain services {
	}
}
table ip6 kube-proxy {
	chain services {
	}
}
table inet kube-proxy {
	chain keep {
	}
}
table ip operator {
	chain own {
	}
}
table ip svcnat {
	chain keep {
	}
}
`)
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("nft -f: %v: %s", err, out)
	}
	for range 2 { // the second run finds nothing to delete
		if err := CleanupKubeProxy(ns); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("nsenter", "--net="+ns, "--", "nft", "list", "tables").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list tables: %v: %s", err, out)
	}
	got := strings.Fields(strings.ReplaceAll(string(out), "table", ""))
	want := []string{"inet", "kube-proxy", "ip", "operator", "ip", "svcnat"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tables after cleanup: %q, want %q", got, want)
	}
}
