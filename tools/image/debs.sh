#!/usr/bin/env bash
# Downloads Debian's iptables and the closure of its dependencies (Depends
# and Pre-Depends, not Recommends) into a cache folder, at the versions apt
# would install now, and prints the .deb files to use, one per line.
# apt-get verifies each file against the signed package index. Files already
# in the cache at the wanted version are reused; older versions left there
# are ignored.
#
#   tools/image/debs.sh CACHE_DIR [PACKAGE...]   (default PACKAGE: iptables)
#
# Needs apt's package lists: when they lack a package and this runs as root,
# it runs `apt-get update` once.
set -euo pipefail
cache="${1:?usage: debs.sh CACHE_DIR [PACKAGE...]}"
shift
roots=("${@:-iptables}")
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"

closure() {
	apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "${roots[@]}" |
		grep -v '^[ <]' | sort -u
}

candidate() {
	apt-cache policy "$1" | awk '$1 == "Candidate:" { print $2 }'
}

lists_ready() {
	local v
	v="$(candidate "${roots[0]}")"
	[[ -n "$v" && "$v" != "(none)" ]]
}

if ! lists_ready; then
	if [[ "$(id -u)" != 0 ]]; then
		echo "debs.sh: apt knows no ${roots[0]}: run apt-get update as root first" >&2
		exit 1
	fi
	echo "debs.sh: apt-get update (no package lists yet)" >&2
	apt-get update -qq >&2
fi

for pkg in $(closure); do
	version="$(candidate "$pkg")"
	if [[ -z "$version" || "$version" == "(none)" ]]; then
		echo "debs.sh: no installable version of $pkg" >&2
		exit 1
	fi
	# apt names files PACKAGE_VERSION_ARCH.deb with ':' (an epoch) as %3a.
	pattern="${pkg}_${version//:/%3a}_*.deb"
	found=("$cache"/$pattern)
	if [[ ! -f "${found[0]}" ]]; then
		(cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$version" >&2)
		found=("$cache"/$pattern)
	fi
	if [[ ! -f "${found[0]}" ]]; then
		echo "debs.sh: apt-get download $pkg=$version left no $pattern" >&2
		exit 1
	fi
	echo "${found[0]}"
done
