package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestSmoke runs the whole driver on 100 Services with both backends, so
// `make test` keeps the benchmark path working. RSS is skipped (it needs
// the svcnat binary).
func TestSmoke(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"--sizes", "100", "--repeat", "1", "--svcnat", ""}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 100 × 10 | nftables |", "| 100 × 10 | iptables |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}
