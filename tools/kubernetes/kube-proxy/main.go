// Command kube-proxy is the upstream Kubernetes service proxy, built from the
// k8s.io/kubernetes module at the version pinned in ../go.mod. svcnat's
// end-to-end and fleet tests run it side by side with svcnat and migrate a
// node from one to the other; ../build.sh builds it into .cache/bin.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // as upstream: JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // as upstream: client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // as upstream: version metric
	"k8s.io/kubernetes/cmd/kube-proxy/app"
)

func main() {
	os.Exit(cli.Run(app.NewProxyCommand()))
}
