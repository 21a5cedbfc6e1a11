// Command svcnat-image writes svcnat's container image as an OCI image
// layout tarball (an "oci-archive"), without a container engine and without
// pulling a base image. `make image` runs it; see deploy/README.md for
// pushing the result.
//
//	svcnat-image --binary bin/image/svcnat --version v0.1.0 --revision HASH \
//	    --created EPOCH -o bin/svcnat-image.tar DEB...
//
// The image has two layers:
//
//  1. Debian's iptables userspace: the .deb files given as arguments (iptables
//     and the closure of its dependencies, which tools/image/debs.sh
//     downloads with apt-get) unpacked as dpkg would, less manuals, locales
//     and documentation other than copyright files; the links
//     /usr/sbin/{ip,ip6}tables{,-save,-restore} -> /etc/alternatives/... ->
//     the nft flavour, as Debian's update-alternatives sets them (the legacy
//     flavour stays reachable as *-legacy; svcnat calls the flavoured
//     binaries itself); and /var/lib/dpkg/status.d/<package> files so that
//     image scanners see which packages and versions are inside.
//  2. The static svcnat binary at /usr/local/bin/svcnat and the link
//     /usr/local/bin/kube-proxy -> svcnat.
//
// The Debian layer comes first because it changes rarely: a new svcnat
// release only pushes and pulls the small binary layer.
//
// Builds are reproducible: entries are sorted, owned by 0:0 with no user or
// group names, and dated --created (SOURCE_DATE_EPOCH, the commit time under
// make), layers are gzip-compressed without timestamps, and the config's
// dates are --created too. The same inputs give byte-identical archives, so
// the same digest.
//
// The archive is an OCI image layout (oci-layout, index.json, blobs/) that
// skopeo, podman and containerd read as oci-archive; it also carries a
// docker-style manifest.json pointing at the same blobs, so `docker load`
// reads it too. With --layout DIR the layout is also left unpacked in DIR,
// which `crane push DIR REF` pushes with the same digest.
//
// With --rootfs DIR it writes no image but each layer's files into DIR/1
// and DIR/2: the Containerfile at the repository's root runs it so that a
// container engine builds the same file system in the same two layers.
//
// The config runs /usr/local/bin/svcnat with the argument run (the node
// agent); the DaemonSet in deploy/ sets its own command. Labels carry
// org.opencontainers.image.{version,revision,source,created,title}.
package main
