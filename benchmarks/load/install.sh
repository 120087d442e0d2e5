#!/usr/bin/env bash
# Install the load generators of benchmarks/hook_load.py (make bench runs this first):
#   wrk (Debian's package, closed loop)  and  var/bench/openloop (built from openloop/, open loop).
# wrk is installed with apt-get when missing: as root, or through passwordless sudo; otherwise the
# script stops and says what to install. openloop needs go (1.19+, Debian's golang-go, installed the
# same way when missing) and only its standard library, so the build downloads nothing; it is
# rebuilt when its source is newer than the binary.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

as_root() {
	if [[ "$(id -u)" -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		return 77
	fi
}

# apt_install COMMAND PACKAGE: install PACKAGE with apt-get unless COMMAND is already there.
apt_install() {
	command -v "$1" >/dev/null && return 0
	if ! as_root true; then
		echo "bench: $1 is not installed, and installing it needs root." >&2
		echo "  Install it (Debian/Ubuntu: sudo apt-get install $2) and run make bench again." >&2
		exit 1
	fi
	echo "bench: installing $2 with apt-get" >&2
	local log
	log="$(mktemp)"
	if ! { as_root apt-get update -qq &&
		as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends "$2"; } >"$log" 2>&1; then
		echo "bench: apt-get could not install $2; its last lines:" >&2
		tail -n 20 "$log" >&2
		rm -f "$log"
		exit 1
	fi
	rm -f "$log"
}

apt_install wrk wrk

binary="$root/var/bench/openloop"
if [[ ! -x "$binary" ]] || [[ -n "$(find "$here/openloop" -newer "$binary" -print -quit)" ]]; then
	apt_install go golang-go
	mkdir -p "$root/var/bench"
	echo "bench: building var/bench/openloop" >&2
	(cd "$here/openloop" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -o "$binary" .)
fi
