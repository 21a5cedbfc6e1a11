#!/usr/bin/env bash
# oneshot.sh: whole-process figures of svcnat's one-shot commands, for one
# or more svcnat binaries run alternately (so that a busy machine slows
# them alike): render, apply into an empty and into a populated namespace
# (nftables), apply from YAML, and the iptables first syncs.
#
#   tools/bench/oneshot.sh [-r RUNS] [-s SERVICES] [-c CASES] BIN...
#
# Prints one line per binary and case: the median [min–max] wall time,
# CPU time (user + system, children included) and peak RSS (max of the
# runs) over RUNS runs. Cases: render, apply, populated, yaml, ipt-nft,
# ipt-legacy (default: all). Every namespace is named svcnat-oneshot-PID-…
# and deleted on exit. Needs root, GNU time (/usr/bin/time), the
# iptables binaries for the ipt- cases and Go (for svcnat-gen).
set -euo pipefail

runs=5
services=10000
cases="render apply populated yaml ipt-nft ipt-legacy"
while getopts "r:s:c:" opt; do
	case $opt in
	r) runs=$OPTARG ;;
	s) services=$OPTARG ;;
	c) cases=${OPTARG//,/ } ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-r runs] [-s services] [-c cases] BIN..." >&2; exit 2; }

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
prefix=svcnat-oneshot-$$
cleanup() {
	for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-" || true); do
		ip netns del "$ns" || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

bins=()
for b in "$@"; do bins+=("$(readlink -f "$b")"); done

(cd "$root" && go run ./cmd/svcnat-gen --services "$services" --endpoints 10 -o "$work/cluster.json")
if [[ " $cases " == *" yaml "* ]]; then
	(cd "$root" && go run ./cmd/svcnat-gen --services "$services" --endpoints 10 --format yaml -o "$work/cluster.yaml")
fi

# measure LABEL CMD...: one run; appends "wall cpu rssKB" to $work/LABEL.
measure() {
	local label=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
		echo "$label failed:" >&2
		cat "$work/stderr" >&2
		exit 1
	}
	awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$work/time" >>"$work/$label"
}

n=0
newns() {
	n=$((n + 1))
	ip netns add "$prefix-$n"
	echo "$prefix-$n"
}

# one_case CASE BIN INDEX: one run of a case for one binary.
one_case() {
	local c=$1 bin=$2 label="$3.$1" ns
	local apply=("$bin" apply --node-name node-1)
	case $c in
	render) measure "$label" "$bin" render -f "$work/cluster.json" --node-name node-1 ;;
	apply | yaml | ipt-nft | ipt-legacy)
		local file=$work/cluster.json extra=()
		[ "$c" = yaml ] && file=$work/cluster.yaml
		[ "$c" = ipt-nft ] && extra=(--backend iptables --iptables-mode nft)
		[ "$c" = ipt-legacy ] && extra=(--backend iptables --iptables-mode legacy)
		ns=$(newns)
		measure "$label" ip netns exec "$ns" "${apply[@]}" -f "$file" "${extra[@]}"
		ip netns del "$ns"
		;;
	populated)
		ns=$(newns)
		ip netns exec "$ns" "${apply[@]}" -f "$work/cluster.json" >/dev/null 2>&1
		measure "$label" ip netns exec "$ns" "${apply[@]}" -f "$work/cluster.json"
		ip netns del "$ns"
		;;
	*)
		echo "unknown case $c" >&2
		exit 2
		;;
	esac
}

for ((r = 1; r <= runs; r++)); do
	for c in $cases; do
		for i in "${!bins[@]}"; do one_case "$c" "${bins[$i]}" "$i"; done
	done
done

# stat FILE COLUMN: median [min-max] of one column.
stat() {
	cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f [%.2f-%.2f]", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

echo "services=$services runs=$runs: median [min-max] wall and CPU seconds, peak RSS of the runs"
for c in $cases; do
	for i in "${!bins[@]}"; do
		f=$work/$i.$c
		rss=$(cut -d' ' -f3 "$f" | sort -n | tail -1)
		printf '%-10s %-28s wall %s  cpu %s  rss %d MB\n' "$c" "$(basename "${bins[$i]}")" \
			"$(stat "$f" 1)" "$(stat "$f" 2)" $((rss / 1024))
	done
done
