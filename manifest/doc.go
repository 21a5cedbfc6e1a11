// Package manifest reads Kubernetes objects from manifest files into a
// synth.Input: the Services, EndpointSlices and Nodes that svcnat's model
// reads, for the dry-run commands and for the agent's file source.
//
// A file holds one or more documents separated by "---" lines, each either
// YAML or JSON (JSON files may also hold a stream of JSON values). A
// document is a single object or a list (kind "List", "ServiceList",
// "EndpointSliceList", "NodeList"…) as written by
//
//	kubectl get svc,endpointslices,nodes -A -o yaml
//
// Recognised objects are v1 Service, discovery.k8s.io/v1 EndpointSlice and
// v1 Node. Objects of any other kind or version are not an error: they are
// skipped and reported in Loader.Ignored. Objects keep their order of
// appearance. Services and EndpointSlices without a namespace are put in
// "default", as kubectl apply would. Fields svcnat never reads are dropped
// as objects are decoded (managed fields, Service selectors, endpoint
// targetRefs, most of a Node's status; trim.go), and a JSON list file is
// decoded item by item as it is read (stream.go), so that a large
// cluster's manifest is never in memory whole.
//
// One bad object never costs the others. An object that does not decode, has
// no name or repeats an earlier one, a document that does not parse, and a
// file over Loader.MaxFileBytes are skipped, and their errors collected in
// Loader.Errors; the Loader's methods fail only for a file that cannot be
// read. (The package-level Load, Read and LoadDir return the collected
// errors as their error, with the Input of the good objects.)
//
// Every error is one line that names the file and the line of the offending
// document (or of the list item, or of the exact syntax error when known),
// with control characters escaped:
//
//	svc.yaml:14: Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32
//	svc.yaml:27: yaml: mapping values are not allowed in this context
//	list.json:3: document has no kind
//
// Speed: documents are split by scanning lines, the items of a kubectl list
// are split out of the list without parsing it, JSON goes straight to
// encoding/json, YAML through sigs.k8s.io/yaml, and the pieces are decoded
// in parallel. A .json file holding one list is decoded while it is read,
// 512 items at a time in parallel (10k Services: 1.3 s instead of 1.0 s
// for the whole file, in a third of the memory). YAML parsing dominates: on one core a 70 MB dump of 50k
// Services and 50k EndpointSlices takes about 3 s of CPU as JSON and about
// 18 s as YAML, so prefer kubectl -o json for very large clusters.
package manifest
