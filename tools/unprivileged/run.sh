#!/usr/bin/env bash
# Runs the backend tests as an unprivileged user: every scenario's
# packet-flow table must run without root, through the iptables simulator
# and the nftables fake kernel. Started as root (CI is), it copies the
# repository's files to a scratch directory any user can read, builds the
# test binaries there and runs them as UNPRIV_USER (default nobody) with
# setpriv. Started as a normal user there is nothing to drop: it runs
# `go test` directly.
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
pkgs=(./backend/...)

if ((EUID != 0)); then
	exec "$GO" test -count=1 "${pkgs[@]}"
fi

user=${UNPRIV_USER:-nobody}
scratch=$(mktemp -d -t svcnat-unpriv.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"
mkdir -m 1777 "$scratch/tmp" "$scratch/home"

# Tracked and new files, as they are in the work tree (not the index).
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$scratch" 2>/dev/null || true
cp go.mod go.sum "$scratch/"

# summarize prints a package's test counts, and its whole output if a test failed.
summarize() {
	local log=$scratch/tmp/last.log
	cat >"$log"
	if grep -q -- '--- FAIL\|^FAIL' "$log"; then
		cat "$log"
	fi
	printf 'passed %d (scenario flow tables %d), skipped %d, failed %d\n' \
		"$(grep -c -- '--- PASS' "$log")" "$(grep -c -- '--- PASS: TestScenarioFlows[A-Za-z]*/' "$log")" \
		"$(grep -c -- '--- SKIP' "$log")" "$(grep -c -- '--- FAIL' "$log")"
}

cd "$scratch"
failed=0
while read -r dir; do
	bin="$dir/unprivileged.test"
	"$GO" test -c -o "$bin" "$dir"
	[[ -f $bin ]] || continue # no test files
	chmod -R a+rX "$scratch"
	echo "== $dir as $user"
	if ! (cd "$dir" && setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups \
		env -i PATH="$PATH" HOME="$scratch/home" TMPDIR="$scratch/tmp" ./unprivileged.test -test.count=1 -test.v | summarize); then
		failed=1
	fi
done < <("$GO" list -f '{{.Dir}}' "${pkgs[@]}")
exit "$failed"
