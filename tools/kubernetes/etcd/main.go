// Command etcd is the upstream etcd server, built from the
// go.etcd.io/etcd/server/v3 module at the version k8s.io/kubernetes v1.37.2
// is built against (../go.mod). The tests run it under kube-apiserver
// instead of a distribution's etcd: an older etcd lacks watch progress
// requests, and without them the API server serves informers' initial
// lists as one LIST per resource instead of streaming them (WatchList),
// which is not how a current cluster behaves. ../build.sh builds it into
// .cache/bin.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
