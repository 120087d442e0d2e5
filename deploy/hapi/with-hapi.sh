#!/usr/bin/env bash
# Run CMD with FHIR_BASE_URL pointing at a fresh HAPI FHIR server (R4, in-memory) on loopback.
#
#   deploy/hapi/with-hapi.sh CMD [ARGS...]
#
# If FHIR_BASE_URL is already set, no server is started: CMD runs against the given one.
# Otherwise the server module is (re)built when its sources are newer than the last build, started
# on a free 127.0.0.1 port with its log in var/hapi.log, and stopped again however CMD ends.
# The exit status is CMD's (or 1 when the server could not be built or started).
# Needs java (17+), mvn and python3. HAPI_JAVA_OPTS and HAPI_BOOT_TIMEOUT (seconds) may be set.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

if [[ -n "${FHIR_BASE_URL:-}" ]]; then
	echo "with-hapi: FHIR_BASE_URL is set ($FHIR_BASE_URL); not starting HAPI" >&2
	exec "$@"
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
stamp="$here/target/.built"
log="$root/var/hapi.log"
timeout="${HAPI_BOOT_TIMEOUT:-180}"
# The test data is tiny; a bounded heap keeps CI machines from swapping (RSS ~0.8 GB measured).
read -r -a java_opts <<<"${HAPI_JAVA_OPTS:--Xmx768m -XX:+UseSerialGC}"

mkdir -p "$root/var"

# Rebuild only when pom.xml or a source file changed since the last successful build; clean, so
# a changed version never leaves the old jar beside the new one in target/lib.
if [[ ! -f "$stamp" ]] || [[ -n "$(find "$here/pom.xml" "$here/src" -newer "$stamp" -print -quit)" ]]; then
	echo "with-hapi: building deploy/hapi (log: var/hapi-build.log; a cold ~/.m2 downloads ~450 MB)" >&2
	# Logged, not shown: Debian's Maven prints stray colour codes even with -B -q.
	if ! (cd "$here" && mvn -B -q clean package) >"$root/var/hapi-build.log" 2>&1; then
		echo "with-hapi: the build failed; last lines of var/hapi-build.log:" >&2
		tail -n 40 "$root/var/hapi-build.log" >&2
		exit 1
	fi
	touch "$stamp"
fi

# Ask the kernel for a free port; the tiny race until Java binds it is acceptable for tests.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port/fhir"

java "${java_opts[@]}" -cp "$here/target/classes:$here/target/lib/*" \
	org.pgxcds.hapi.HapiTestServer "$port" >"$log" 2>&1 &
pid=$!

stop_server() {
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		# The shutdown hook stops Jetty and Spring; do not wait forever for it.
		for _ in $(seq 1 20); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.5
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "with-hapi: starting HAPI on $base (log: var/hapi.log)" >&2
started=$SECONDS
until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
	"$base/metadata" 2>/dev/null; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "with-hapi: HAPI exited during start-up; last lines of var/hapi.log:" >&2
		tail -n 40 "$log" >&2
		exit 1
	fi
	if ((SECONDS - started >= timeout)); then
		echo "with-hapi: HAPI not ready after ${timeout}s; last lines of var/hapi.log:" >&2
		tail -n 40 "$log" >&2
		exit 1
	fi
	sleep 1
done
echo "with-hapi: HAPI ready after $((SECONDS - started))s" >&2

export FHIR_BASE_URL="$base"
set +e
"$@"
status=$?
set -e
exit "$status"
