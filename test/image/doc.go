// Package image tests the container image that `make image` writes, the way
// a node would run it: the tests carry the build tag image, so `go test
// ./...` skips them; `make test-image` runs them (root, about two minutes
// warm; the first `make image` also compiles svcnat with -trimpath and
// downloads Debian's iptables packages).
//
//	IMAGE_REQUIRED=1 go test -tags image -count=1 -v ./test/image
//
// TestMain runs `make image` twice into temporary files; the archives must
// be byte for byte the same (TestReproducible). The image's root file system
// is unpacked from the archive as a runtime would (its layers in order).
//
// The tests then run the image's binaries as the kubelet and a container
// runtime would run the DaemonSet of deploy/, rendered with kustomize:
// the test binary re-executes itself inside a node's network namespace
// (`ip netns exec`), mounts what the pod mounts (the ConfigMap's files, the
// host paths, /proc, /sys), makes the image's root read-only
// (readOnlyRootFilesystem), chroots into it, keeps only the container's
// capabilities in the bounding set (uid 0 then gets exactly those on exec,
// as in a container), sets no_new_privs (allowPrivilegeEscalation: false)
// and execs the container's command. Only seccomp is not applied.
//
//   - TestDaemonSetInLab: the DaemonSet's command, per overlay (nftables,
//     iptables), in a lab node with a manifest folder mounted in place of
//     an API server: the lab client reaches pods through a NodePort and a
//     ClusterIP.
//   - TestCapabilities: `svcnat apply` from the image under each overlay's
//     capabilities, and without NET_RAW for iptables-legacy, in scratch
//     namespaces: what the overlays grant is enough, and NET_RAW is needed.
//
// The container runs as a labtest.Proc (stopped by pid, SIGTERM then
// SIGKILL, which fails the test; its log printed on failure); the lab and
// scratch namespaces come from netns/netnstest.
//
// Without root every test skips, unless IMAGE_REQUIRED=1.
package image
