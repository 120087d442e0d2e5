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

# apt_install COMMAND PACKAGE: install PACKAGE with apt-get unless COMMAND is already there.
apt_install() {
	command -v "$1" >/dev/null || "$root/deploy/apt-install.sh" bench "$2"
}

apt_install wrk wrk

binary="$root/var/bench/openloop"
if [[ ! -x "$binary" ]] || [[ -n "$(find "$here/openloop" -newer "$binary" -print -quit)" ]]; then
	apt_install go golang-go
	mkdir -p "$root/var/bench"
	echo "bench: building var/bench/openloop" >&2
	(cd "$here/openloop" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -o "$binary" .)
fi
