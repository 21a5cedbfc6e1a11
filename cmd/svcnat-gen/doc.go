// Command svcnat-gen writes a synthetic cluster (Services, EndpointSlices
// and Nodes) as a manifest file for benchmarks and tests:
//
//	svcnat-gen --services 10000 --endpoints 3 --nodeport-fraction 0.1 --seed 1 -o cluster.json
//
// The default format is one JSON List document, one object per line (JSON
// is YAML; this is the fast format to read back); --format yaml writes
// multi-document YAML instead. See package internal/gen for the objects.
package main
