#!/usr/bin/env bash
# Run CMD with PGX_CDS_TEST_POSTGRES_URL pointing at a fresh PostgreSQL server on loopback.
#
#   deploy/postgres/with-postgres.sh CMD [ARGS...]
#
# If PGX_CDS_TEST_POSTGRES_URL is already set, no server is started: CMD runs against the given
# one. Otherwise a throwaway cluster is created with initdb in a temporary directory, started on a
# free 127.0.0.1 port (trust authentication, loopback only, fsync off: test data only), and
# removed again however CMD ends. The exit status is CMD's (or 1 when PostgreSQL could not be
# installed or started). Wrappers compose:
#   deploy/hapi/with-hapi.sh deploy/postgres/with-postgres.sh deploy/redis/with-redis.sh pytest
# Needs the server binaries (Debian package postgresql). When they are missing, root installs them
# with apt-get, or any user through passwordless sudo; otherwise the script stops and says what to
# install. PostgreSQL refuses to run as root, so as root the cluster runs as the 'postgres' user
# the package creates. PG_BOOT_TIMEOUT (seconds, default 30) may be set.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

if [[ -n "${PGX_CDS_TEST_POSTGRES_URL:-}" ]]; then
	echo "with-postgres: PGX_CDS_TEST_POSTGRES_URL is set; not starting PostgreSQL" >&2
	exec "$@"
fi

timeout="${PG_BOOT_TIMEOUT:-30}"

find_bindir() {
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		dirname "$(readlink -f "$(command -v initdb)")"
		return
	fi
	# Debian keeps the server binaries out of PATH, one folder per major version: take the newest.
	local dir
	dir="$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
	[[ -n "$dir" && -x "$dir/initdb" ]] && echo "$dir"
}

bindir="$(find_bindir || true)"
if [[ -z "$bindir" ]]; then
	"$(dirname "${BASH_SOURCE[0]}")/../apt-install.sh" with-postgres postgresql \
		"set PGX_CDS_TEST_POSTGRES_URL=postgresql+psycopg://USER@HOST:PORT/DB to use a running server"
	bindir="$(find_bindir || true)"
	if [[ -z "$bindir" ]]; then
		echo "with-postgres: initdb not found after installing postgresql" >&2
		exit 1
	fi
fi

run_as=()
if [[ "$(id -u)" -eq 0 ]]; then
	if ! id postgres >/dev/null 2>&1; then
		echo "with-postgres: running as root and there is no 'postgres' user to run the server as" >&2
		exit 1
	fi
	run_as=(runuser -u postgres --)
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/pgx-postgres.XXXXXX")"
chmod 755 "$workdir"
[[ ${#run_as[@]} -eq 0 ]] || chown postgres "$workdir"
data="$workdir/data"
started_server=""

stop_server() {
	if [[ -n "$started_server" ]]; then
		"${run_as[@]}" "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$workdir"
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! "${run_as[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale \
	>"$workdir/initdb.log" 2>&1; then
	echo "with-postgres: initdb failed; its last lines:" >&2
	tail -n 20 "$workdir/initdb.log" >&2
	exit 1
fi

# Ask the kernel for a free port; the tiny race until PostgreSQL binds it is acceptable for tests.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

started_server=1
if ! "${run_as[@]}" "$bindir/pg_ctl" -D "$data" -l "$workdir/server.log" -w -t "$timeout" \
	-o "-h 127.0.0.1 -p $port -k $workdir -c fsync=off -c full_page_writes=off" start \
	>/dev/null 2>&1; then
	echo "with-postgres: PostgreSQL did not start within ${timeout}s; its log:" >&2
	tail -n 20 "$workdir/server.log" >&2 || true
	exit 1
fi
echo "with-postgres: PostgreSQL ready on 127.0.0.1:$port" >&2

# Tests create and drop their own databases in it; this one is where they connect to do so.
export PGX_CDS_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
set +e
"$@"
status=$?
set -e
exit "$status"
