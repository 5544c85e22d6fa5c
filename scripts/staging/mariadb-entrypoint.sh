#!/bin/bash
# Entrypoint for backup-bot's locally built `mariadb:10.11` staging image
# (see scripts/build-staging-image.sh --mariadb). Mirrors the official mariadb
# image for the common case:
#
#   MARIADB_ROOT_PASSWORD / MYSQL_ROOT_PASSWORD   root password (root@localhost and root@'%')
#   MARIADB_ALLOW_EMPTY_ROOT_PASSWORD / MYSQL_ALLOW_EMPTY_PASSWORD   allow no root password
#   MARIADB_RANDOM_ROOT_PASSWORD / MYSQL_RANDOM_ROOT_PASSWORD         generate and print one
#   MARIADB_DATABASE / MYSQL_DATABASE             database to create
#   MARIADB_USER / MYSQL_USER, MARIADB_PASSWORD / MYSQL_PASSWORD
#                                                 user@'%' with ALL on that database
#   *_FILE variants                               read the value from a file
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz   run once after init
#
# First start: mariadb-install-db, then a temporary server with networking
# disabled applies the settings above, then it is stopped and the real server
# is exec'd as PID 1 listening on *:3306. So `mariadb-admin ping -h 127.0.0.1`
# only succeeds once initialisation has finished.
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

# mariadb_env NAME: MARIADB_NAME, falling back to MYSQL_NAME (either may use _FILE).
mariadb_env() {
	local name="$1" alt="${2:-$1}"
	file_env "MARIADB_$name"
	file_env "MYSQL_$alt"
	local m="MARIADB_$name" y="MYSQL_$alt"
	export "MARIADB_$name"="${!m:-${!y:-}}"
}

# SQL string literal contents ('...'): escape backslash and single quote.
sql_str() { local s="$1"; s="${s//\\/\\\\}"; s="${s//\'/\\\'}"; printf '%s' "$s"; }
# SQL identifier contents (`...`): double backticks.
sql_ident() { local s="$1"; printf '%s' "${s//\`/\`\`}"; }

if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
	set -- mariadbd "$@"
fi
if [ "$1" != 'mariadbd' ] && [ "$1" != 'mysqld' ]; then
	exec "$@"
fi

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

if [ "$(id -u)" = '0' ]; then
	mkdir -p "$DATADIR" /run/mysqld
	chown mysql:mysql "$DATADIR" /run/mysqld
	exec setpriv --reuid=mysql --regid=mysql --init-groups -- "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -d "$DATADIR/mysql" ]; then
	mariadb_env ROOT_PASSWORD
	mariadb_env ALLOW_EMPTY_ROOT_PASSWORD ALLOW_EMPTY_PASSWORD
	mariadb_env RANDOM_ROOT_PASSWORD
	mariadb_env DATABASE
	mariadb_env USER
	mariadb_env PASSWORD

	if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		die "database is uninitialized and password option is not specified.
  You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD"
	fi
	if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ] && [ -z "$MARIADB_ROOT_PASSWORD" ]; then
		MARIADB_ROOT_PASSWORD="$(tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 32 || true)"
		log "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
	fi
	if [ "$MARIADB_USER" = 'root' ]; then
		die "MARIADB_USER=root: use MARIADB_ROOT_PASSWORD for the root user instead"
	fi
	if [ -n "$MARIADB_USER" ] && [ -z "$MARIADB_PASSWORD" ]; then
		die "MARIADB_USER is set but MARIADB_PASSWORD is not"
	fi

	log "initialising database in $DATADIR"
	mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
		--skip-test-db --skip-name-resolve --skip-log-bin --expire-logs-days=0 \
		--default-time-zone=SYSTEM --enforce-storage-engine= \
		--loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 \
		> /dev/null

	# Temporary server: socket only.
	"$@" --skip-networking --socket="$SOCKET" --default-time-zone=SYSTEM --wsrep_on=OFF \
		--skip-log-bin --expire-logs-days=0 --skip-slave-start \
		--loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 &
	tmp_pid=$!
	for _ in $(seq 300); do
		if mariadb-admin --socket="$SOCKET" -uroot --connect-timeout=1 ping > /dev/null 2>&1; then
			break
		fi
		kill -0 "$tmp_pid" 2>/dev/null || die "temporary server exited during initialisation"
		sleep 0.1
	done
	mariadb-admin --socket="$SOCKET" -uroot ping > /dev/null 2>&1 || die "temporary server did not start"

	root_pw="$(sql_str "$MARIADB_ROOT_PASSWORD")"
	sql="SET @@SESSION.SQL_LOG_BIN=0;
SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname, '\\'');
SET PASSWORD FOR 'root'@'localhost' = PASSWORD('$root_pw');
CREATE USER 'root'@'%' IDENTIFIED BY '$root_pw';
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION;
"
	if [ -n "$MARIADB_DATABASE" ]; then
		log "creating database \`$MARIADB_DATABASE\`"
		sql+="CREATE DATABASE IF NOT EXISTS \`$(sql_ident "$MARIADB_DATABASE")\`;
"
	fi
	if [ -n "$MARIADB_USER" ]; then
		log "creating user '$MARIADB_USER'@'%'"
		sql+="CREATE USER '$(sql_str "$MARIADB_USER")'@'%' IDENTIFIED BY '$(sql_str "$MARIADB_PASSWORD")';
"
		if [ -n "$MARIADB_DATABASE" ]; then
			sql+="GRANT ALL ON \`$(sql_ident "$MARIADB_DATABASE")\`.* TO '$(sql_str "$MARIADB_USER")'@'%';
"
		fi
	fi
	mariadb --protocol=socket --socket="$SOCKET" -uroot --binary-mode -e "$sql"

	if [ -d /docker-entrypoint-initdb.d ]; then
		client=(mariadb --protocol=socket --socket="$SOCKET" -uroot "--password=$MARIADB_ROOT_PASSWORD")
		[ -n "$MARIADB_DATABASE" ] && client+=("$MARIADB_DATABASE")
		for f in /docker-entrypoint-initdb.d/*; do
			[ -e "$f" ] || continue
			case "$f" in
				*.sh)
					# shellcheck disable=SC1090 # user-supplied init scripts
					if [ -x "$f" ]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
				*.sql) log "running $f"; "${client[@]}" < "$f" ;;
				*.sql.gz) log "running $f"; gzip -dc "$f" | "${client[@]}" ;;
				*) log "ignoring $f" ;;
			esac
		done
	fi

	kill -TERM "$tmp_pid"
	wait "$tmp_pid" || true
	unset MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD MARIADB_PASSWORD MYSQL_PASSWORD root_pw sql
	log "initialisation complete; starting server"
fi

# PID 1 is the server itself (SIGTERM = clean shutdown).
exec "$@"
