#!/usr/bin/env bash
# Makes a fresh machine ready for backup-bot's tests, and does nothing that is already done:
#   a Node.js >= 22 (the machine's, or Node 24 LTS provisioned under .tools/ by scripts/node.sh),
#   PostgreSQL on 127.0.0.1:5432 and MariaDB on 127.0.0.1:3306 running (started if stopped),
#   their client tools (pg_dump, psql, mysqldump, mariadb) and age installed,
#   a Docker engine (Debian's docker.io, dockerd started in the background; a test starts a second,
#   TLS-only dockerd of its own on 127.0.0.1 with certificates made by openssl),
#   the staging images postgres:15 and mariadb:10.11 built from Debian packages (no registry needed).
# s3rver is started by the tests themselves on 127.0.0.1 (test/helpers/s3.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
log() { printf '[setup-test-env] %s\n' "$*" >&2; }

SUDO=()
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=(sudo); fi
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then "${SUDO[@]}" apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "$@" >/dev/null
}

# --- Node.js >= 22 -------------------------------------------------------------------------------
node_bin="$(bash scripts/node.sh --bin-dir)"
log "node for the tests: $node_bin/node ($("$node_bin/node" --version))"

# --- client tools -------------------------------------------------------------------------------
need=()
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client)
command -v mysqldump >/dev/null 2>&1 || need+=(mariadb-client)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
# The remote-Docker test makes its CA, server and client certificates with openssl.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# age / age-keygen: the test that decrypts a backup by hand, without the bot (README "Encrypted backups")
{ command -v age >/dev/null 2>&1 && command -v age-keygen >/dev/null 2>&1; } || need+=(age)
if [ "${#need[@]}" -gt 0 ]; then log "installing ${need[*]}"; apt_install "${need[@]}"; fi

# --- evidence report (issue 19): headless Chromium renders and checks the HTML/PDF, poppler reads the PDF,
# unzip and openssl check the evidence pack and its signature, DejaVu gives Chromium's text a font ---------
need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/lib/chromium/chromium ] || need+=(chromium)
{ command -v pdftotext && command -v pdfinfo; } >/dev/null 2>&1 || need+=(poppler-utils)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ "${#need[@]}" -gt 0 ]; then log "installing ${need[*]}"; apt_install "${need[@]}"; fi

# --- PostgreSQL -----------------------------------------------------------------------------------
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  log "starting PostgreSQL"
  if [ -d /etc/postgresql ]; then
    for v in $(ls /etc/postgresql); do "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 || { log "PostgreSQL is not reachable on 127.0.0.1:5432"; exit 1; }
fi

# --- MariaDB --------------------------------------------------------------------------------------
mariadb_up() { mariadb-admin --protocol=TCP -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; }
if ! mariadb_up; then
  log "starting MariaDB"
  if [ -x /usr/sbin/mariadbd ]; then
    "${SUDO[@]}" start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  fi
  for _ in $(seq 1 30); do mariadb_up && break; sleep 1; done
  mariadb_up || { log "MariaDB is not reachable on 127.0.0.1:3306 as root"; exit 1; }
fi

# --- Docker engine and staging images -----------------------------------------------------------
bash scripts/setup-docker.sh
bash scripts/build-staging-image.sh --all
log "ready"
