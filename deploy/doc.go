// Package deploy holds the manifests that install svcnat in a cluster in
// place of kube-proxy (README.md), as kustomize bases and overlays:
//
//	base/               RBAC, the DaemonSet, the ConfigMap svcnat
//	                    (config.conf, a KubeProxyConfiguration in nftables
//	                    mode; kubeconfig.conf naming the control-plane
//	                    endpoint), the image pinned to the VERSION file
//	overlays/nftables/  the base as is (NET_ADMIN)
//	overlays/iptables/  mode iptables, NET_ADMIN and NET_RAW
//	kustomization.yaml  `kubectl kustomize deploy/` = overlays/nftables
//
// Render runs kustomize in process (no kubectl needed) and decodes every
// object strictly into its API type; the package's test checks the rendered
// manifests (least privilege per mode, the kubeconfig, the image tag), and
// test/image runs the image with the DaemonSet's own command, volumes and
// capabilities.
package deploy
