#!/usr/bin/env bash
# Run CMD with PGX_CDS_TEST_REDIS_URL pointing at a fresh, empty Redis server on loopback.
#
#   deploy/redis/with-redis.sh CMD [ARGS...]
#
# If PGX_CDS_TEST_REDIS_URL is already set, no server is started: CMD runs against the given one.
# Otherwise redis-server is started on a free 127.0.0.1 port, in a temporary directory, with no
# persistence (nothing is written to disk), and stopped again however CMD ends. The exit status is
# CMD's (or 1 when Redis could not be installed or started). Wrappers compose:
#   deploy/hapi/with-hapi.sh deploy/redis/with-redis.sh pytest
# Needs redis-server and redis-cli (Debian package redis-server). When they are missing, root
# installs them with apt-get, or any user through passwordless sudo; otherwise the script stops
# and says what to install. REDIS_BOOT_TIMEOUT (seconds, default 20) may be set.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

if [[ -n "${PGX_CDS_TEST_REDIS_URL:-}" ]]; then
	echo "with-redis: PGX_CDS_TEST_REDIS_URL is set; not starting Redis" >&2
	exec "$@"
fi

timeout="${REDIS_BOOT_TIMEOUT:-20}"

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	"$(dirname "${BASH_SOURCE[0]}")/../apt-install.sh" with-redis redis-server \
		"set PGX_CDS_TEST_REDIS_URL=redis://HOST:PORT/DB to use a running server"
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/pgx-redis.XXXXXX")"
pid=""

stop_server() {
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 20); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.25
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	[[ -z "$pid" ]] || wait "$pid" 2>/dev/null || true
	rm -rf "$workdir"
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Ask the kernel for a free port; the tiny race until Redis binds it is acceptable for tests.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# Foreground process (no --daemonize), so $! is the server itself and the trap can stop it.
redis-server --port "$port" --bind 127.0.0.1 --dir "$workdir" --save "" --appendonly no \
	--protected-mode yes --logfile "$workdir/redis.log" >/dev/null 2>&1 &
pid=$!

started=$SECONDS
until [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == "PONG" ]]; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "with-redis: redis-server exited during start-up; its log:" >&2
		tail -n 20 "$workdir/redis.log" >&2 || true
		exit 1
	fi
	if ((SECONDS - started >= timeout)); then
		echo "with-redis: Redis not ready after ${timeout}s; its log:" >&2
		tail -n 20 "$workdir/redis.log" >&2 || true
		exit 1
	fi
	sleep 0.1
done
echo "with-redis: Redis ready on 127.0.0.1:$port" >&2

export PGX_CDS_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
set +e
"$@"
status=$?
set -e
exit "$status"
