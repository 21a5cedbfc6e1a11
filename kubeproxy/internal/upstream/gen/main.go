// Command gen writes kubeproxy's table of kube-proxy's feature gates from the
// k8s.io/kubernetes sources (run by `go generate ./kubeproxy`).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/svcnat/svcnat/kubeproxy/internal/upstream"
)

func main() {
	out := flag.String("o", "zz_featuregates.go", "output file")
	flag.Parse()
	src, err := upstream.GatesFile("kubeproxy")
	if err == nil {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
