// Package kubelab runs a Kubernetes control plane for tests: etcd and
// kube-apiserver inside one network namespace of a netns lab, the API
// server bound to an address of that namespace, so that lab nodes reach it
// over their veths as real nodes would.
//
//	c, err := kubelab.Start(ctx, kubelab.Options{
//		Dir: dir, Host: lab.Client, Addr: lab.Client.IPv4(),
//		APIServerBin: apiserver, EtcdBin: etcd, // labtest.KubeAPIServer, labtest.Etcd
//		APIServerArgs: []string{"--service-node-port-range=30000-30999"},
//	})
//	defer c.Stop()
//	// processes in the lab: --kubeconfig=c.Kubeconfig()
//	// the test process:     c.Client(), c.RESTConfig()
//
// The API server authenticates a static bearer token (system:masters),
// authorizes everything, serves a self-signed certificate (the kubeconfig
// skips verification), signs service-account tokens with a fresh key pair,
// and runs with --endpoint-reconciler-type=none: no controller manager
// runs, so tests create Nodes and EndpointSlices themselves. Defaults:
// --service-cluster-ip-range=10.96.0.0/16 and
// --service-node-port-range=30000-32767; Options.APIServerArgs replaces
// or adds flags. etcd listens on free loopback ports of the namespace and
// keeps its data in Dir, so RestartEtcd brings the same cluster back;
// StopAPIServer and StartAPIServer make an API outage. Both logs are in
// Dir; Procs returns the processes for printing them.
package kubelab
