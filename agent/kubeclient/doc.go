// Package kubeclient is the agent's client of the Kubernetes API: REST
// clients for the four API groups svcnat reads or writes (core/v1 Services
// and Nodes, discovery/v1 EndpointSlices, networking/v1 ServiceCIDRs,
// events/v1 Events), list-watches for client-go informers, the discovery
// check for ServiceCIDRs and the readiness probe. Every request but a
// watch counts against the client's rate limit (clientConnection.qps and
// burst), except the pages that continue a list: the informers list in
// pages, and kube-proxy, whose limits these are, sends one LIST per kind.
//
// It exists for the node's memory: client-go's generated clientset, its
// informer factory and its Event broadcaster each link every API group's
// types and register them at start, which makes the binary about twice as
// large and leaves tens of megabytes of its pages resident on every node.
// Nothing in the agent's own packages may import
// k8s.io/client-go/kubernetes (or informers, tools/events, tools/record);
// TestBinaryLinksNoClientset keeps it so. Tests drive the agent through a
// generated fake clientset with the adapters in kubeclienttest.
package kubeclient
