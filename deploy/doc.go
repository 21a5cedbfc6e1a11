// Package deploy holds the manifests that install svcnat in a cluster in
// place of kube-proxy (README.md): a DaemonSet and least-privilege RBAC. Its
// Go test decodes them strictly into the API types, so a typo or a widened
// permission fails `make test`.
package deploy
