// Package upstream reads the kube-proxy v1.37.2 sources with go/parser: the
// flags kube-proxy registers, the metrics it defines and the feature gates
// it knows. It is used by the kubeproxy tests (which compare these lists
// with kubeproxy.Reference) and by ./gen, which writes kubeproxy's table of
// feature gates. Nothing here is compiled into svcnat.
package upstream
