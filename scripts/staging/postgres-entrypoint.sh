#!/bin/bash
# Entrypoint for backup-bot's locally built `postgres:15` staging image
# (see scripts/build-staging-image.sh). Mirrors the official postgres image
# for the common case:
#
#   POSTGRES_PASSWORD          required unless POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER              superuser to create (default: postgres)
#   POSTGRES_DB                database to create (default: $POSTGRES_USER)
#   POSTGRES_HOST_AUTH_METHOD  auth for TCP connections (default: scram-sha-256)
#   POSTGRES_INITDB_ARGS       extra arguments for initdb
#   *_FILE variants            read the value from a file (Docker secrets)
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz  run once after init
#
# First start: initdb (UTF8, C.UTF-8), then a temporary server that listens on
# the unix socket only creates the database, then it is stopped and the real
# server is exec'd in the foreground as PID 1 listening on *:5432. So
# `pg_isready -h 127.0.0.1` only succeeds once the user and database exist.
set -Eeuo pipefail

log() { printf '%s [entrypoint] %s\n' "$(date -u +'%Y-%m-%d %H:%M:%S UTC')" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# file_env VAR [default]: VAR or VAR_FILE (not both) or default.
file_env() {
	local var="$1" def="${2:-}" fvar="${1}_FILE" val
	if [ -n "${!var:-}" ] && [ -n "${!fvar:-}" ]; then
		die "both $var and $fvar are set (they are exclusive)"
	fi
	val="$def"
	if [ -n "${!var:-}" ]; then
		val="${!var}"
	elif [ -n "${!fvar:-}" ]; then
		val="$(< "${!fvar}")"
	fi
	export "$var"="$val"
	unset "$fvar"
}

# Options to the server (`docker run postgres:15 -c fsync=off`) or no args.
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

# Anything other than the server (e.g. `psql --version`) is run as-is.
if [ "$1" != 'postgres' ]; then
	exec "$@"
fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
SOCKET_DIR=/var/run/postgresql

# Started with `--user root`: fix ownership, then drop to the postgres user.
if [ "$(id -u)" = '0' ]; then
	mkdir -p "$PGDATA" "$SOCKET_DIR"
	chown postgres:postgres "$PGDATA" "$SOCKET_DIR"
	chmod 700 "$PGDATA"
	chmod 2775 "$SOCKET_DIR"
	exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
fi

mkdir -p "$PGDATA" 2>/dev/null || true
chmod 700 "$PGDATA" 2>/dev/null || true
mkdir -p "$SOCKET_DIR" 2>/dev/null || true

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"

	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
		die "database is uninitialized and superuser password is not specified.
  Set POSTGRES_PASSWORD to a non-empty value for the superuser (e.g. -e POSTGRES_PASSWORD=secret),
  or set POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password (NOT recommended)."
	fi

	log "initialising database cluster in $PGDATA"
	initdb_args=(
		--pgdata="$PGDATA"
		--username="$POSTGRES_USER"
		--encoding=UTF8
		--locale=C.UTF-8
		--auth-local=trust
		--auth-host="$POSTGRES_HOST_AUTH_METHOD"
		# Throwaway staging containers: skip the final fsync of the new
		# cluster (saves ~0.5-1 s per start); the server itself keeps fsync on.
		--no-sync
	)
	if [ -n "$POSTGRES_PASSWORD" ]; then
		pwfile="$(mktemp)"
		printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
		initdb_args+=(--pwfile="$pwfile")
	fi
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is word-split on purpose, like upstream
	initdb "${initdb_args[@]}" $POSTGRES_INITDB_ARGS > /dev/null
	[ -n "${pwfile:-}" ] && rm -f "$pwfile"

	# Local trust over the unix socket inside the container (docker exec psql,
	# pg_restore, ...); password auth for every TCP client.
	cat > "$PGDATA/pg_hba.conf" <<-EOF
		# TYPE  DATABASE     USER  ADDRESS  METHOD
		local   all          all            trust
		local   replication  all            trust
		host    all          all   all      $POSTGRES_HOST_AUTH_METHOD
		host    replication  all   all      $POSTGRES_HOST_AUTH_METHOD
	EOF
	cat >> "$PGDATA/postgresql.conf" <<-EOF

		# --- backup-bot staging image ---
		listen_addresses = '*'
		port = 5432
		unix_socket_directories = '$SOCKET_DIR'
	EOF

	# Temporary server: unix socket only, so nothing outside can connect (or see
	# it as ready) until initialisation has finished.
	pg_ctl -D "$PGDATA" -w -t 60 -o "-c listen_addresses='' -p 5432" start > /dev/null

	psql_init=(psql -X -q -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --host "$SOCKET_DIR")
	if [ "$POSTGRES_DB" != 'postgres' ]; then
		log "creating database \"$POSTGRES_DB\""
		"${psql_init[@]}" --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			SELECT format('CREATE DATABASE %I', :'db')
			WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
		EOSQL
	fi

	if [ -d /docker-entrypoint-initdb.d ]; then
		for f in /docker-entrypoint-initdb.d/*; do
			[ -e "$f" ] || continue
			case "$f" in
				*.sh)
					# shellcheck disable=SC1090 # user-supplied init scripts
					if [ -x "$f" ]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
				*.sql) log "running $f"; "${psql_init[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
				*.sql.gz) log "running $f"; gzip -dc "$f" | "${psql_init[@]}" --dbname "$POSTGRES_DB" ;;
				*) log "ignoring $f" ;;
			esac
		done
	fi

	pg_ctl -D "$PGDATA" -m fast -w -t 60 stop > /dev/null
	unset PGPASSWORD POSTGRES_PASSWORD
	log "initialisation complete; starting server"
fi

# PID 1 is postgres itself: `docker stop` (STOPSIGNAL SIGINT = fast shutdown)
# reaches it directly.
exec "$@"
