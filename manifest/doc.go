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
// encoding/json, and the pieces are decoded in parallel. YAML in the plain
// block style kubectl writes is turned into JSON by a converter of just that
// subset (blockyaml.go), which is several times faster than a YAML parser;
// any other YAML, and every document the converter is unsure of, goes
// through sigs.k8s.io/yaml, so results and errors do not depend on which
// path a document took (FuzzBlockYAMLMatchesYAML). A .json file holding one
// list is decoded while it is read, 512 items at a time in parallel, the
// next batch read while the last decodes (10k Services in a third of the
// memory of the whole file). At 10k Services × 10 endpoints a 29 MB YAML
// dump costs `svcnat render` about 1.2 s more CPU than the same cluster in
// JSON (it was about 5.7 s more with sigs.k8s.io/yaml alone).
package manifest
