#!/usr/bin/env bash
# Install one Debian package with apt-get, for the harnesses that need a program (with-redis.sh,
# with-postgres.sh, benchmarks/load/install.sh); the caller decides whether it is missing.
#
#   deploy/apt-install.sh CALLER PACKAGE [HINT]
#
# Root installs directly, any other user through passwordless sudo; otherwise the script says
# what to install (and HINT, another way out) and exits 1. apt-get's output is shown only when it
# fails (its last lines). CALLER prefixes the messages.
set -euo pipefail

if [[ $# -lt 2 ]]; then
	echo "usage: $0 CALLER PACKAGE [HINT]" >&2
	exit 2
fi
caller="$1"
package="$2"
hint="${3:-}"

if [[ "$(id -u)" -eq 0 ]]; then
	as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	echo "$caller: $package is not installed, and installing it needs root." >&2
	echo "  Install it (Debian/Ubuntu: sudo apt-get install $package)${hint:+, or $hint}." >&2
	exit 1
fi
echo "$caller: installing $package with apt-get" >&2
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# A package that enables a system service (redis-server, postgresql) is left alone: the harnesses
# start servers of their own.
if ! { "${as_root[@]}" apt-get update -qq &&
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "$package"; } >"$log" 2>&1; then
	echo "$caller: apt-get could not install $package; its last lines:" >&2
	tail -n 20 "$log" >&2
	exit 1
fi
