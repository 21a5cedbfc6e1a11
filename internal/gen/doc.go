// Package gen builds synthetic clusters for benchmarks and tests: any
// number of valid Services with their EndpointSlices and Nodes, the same
// objects for the same Config and Seed.
//
// Services are named svc-00001, svc-00002, … and spread over a few
// namespaces; ClusterIPs are taken in order from the service CIDR and pod
// addresses in order from the pod CIDR, so every address is unique. A
// fraction of the Services are of type NodePort, with nodePorts drawn
// without repetition from 30000-32767; once those 2768 ports are used up,
// further Services stay ClusterIP. Every TwoPortEvery-th Service has two
// named ports, others one unnamed port; about a third use a named
// targetPort. Endpoints are ready, spread over the nodes, at most 100 per
// EndpointSlice like the EndpointSlice controller.
//
// Write emits the objects as one JSON document (a kind: List, one item per
// line): JSON is valid YAML, kubectl applies it, and it is read back by
// encoding/json several times faster than YAML. WriteYAML emits
// multi-document YAML for people and for benchmarks of the YAML path.
package gen
