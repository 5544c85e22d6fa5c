#!/usr/bin/env bash
# Build the Docker images backup-bot uses for restore tests ("staging"
# containers) WITHOUT a Docker registry: a Debian bookworm root filesystem is
# made with debootstrap from the Debian mirror and imported with `docker import`.
#
#   postgres:15    (also tagged backup-bot/staging-postgres:15)   default
#   mariadb:10.11  (also tagged backup-bot/staging-mariadb:10.11) --mariadb / --all
#
# The entrypoints (scripts/staging/*-entrypoint.sh) follow the official images'
# environment variables (POSTGRES_PASSWORD, MARIADB_ROOT_PASSWORD, ...).
#
# Idempotent: an image that already exists is left alone unless --force.
#
# Usage: scripts/build-staging-image.sh [--postgres] [--mariadb] [--all] [--force]
#   (no selection = --postgres)
# Env:   DEBIAN_MIRROR (default http://deb.debian.org/debian)
#        STAGING_BUILD_DIR (default <project>/.staging-build, git-ignored)
#        STAGING_KEEP_JIT=1 keep PostgreSQL's LLVM JIT (dropped by default: -135 MB)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BUILD_ROOT="${STAGING_BUILD_DIR:-$PROJECT_DIR/.staging-build}"
BASE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf '[build-staging-image] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

force=0 want_pg=0 want_mariadb=0
while [ "$#" -gt 0 ]; do
	case "$1" in
		-f|--force) force=1 ;;
		--postgres|--postgresql) want_pg=1 ;;
		--mariadb|--mysql) want_mariadb=1 ;;
		--all) want_pg=1; want_mariadb=1 ;;
		-h|--help) usage; exit 0 ;;
		*) usage; die "unknown argument: $1" ;;
	esac
	shift
done
if [ "$want_pg" = 0 ] && [ "$want_mariadb" = 0 ]; then want_pg=1; fi

# --- privileges -------------------------------------------------------------
SUDO=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo > /dev/null 2>&1 || die "must run as root (or have sudo): debootstrap needs root"
	SUDO=(sudo)
fi
as_root() { "${SUDO[@]}" "$@"; }
export PATH="$PATH:/usr/sbin:/sbin"

# --- docker -----------------------------------------------------------------
command -v docker > /dev/null 2>&1 || die "docker CLI not found; run scripts/setup-docker.sh first"
docker info > /dev/null 2>&1 || die "cannot talk to the Docker daemon; run scripts/setup-docker.sh first"

image_exists() { docker image inspect "$1" > /dev/null 2>&1; }

# --- debootstrap ------------------------------------------------------------
apt_updated=0
apt_install() {
	if [ "$apt_updated" = 0 ]; then
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
		apt_updated=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}
ensure_debootstrap() {
	local need=()
	command -v debootstrap > /dev/null 2>&1 || need+=(debootstrap)
	[ -s /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
	if [ "${#need[@]}" -gt 0 ]; then
		command -v apt-get > /dev/null 2>&1 || die "need ${need[*]} but apt-get is not available"
		log "installing ${need[*]}"
		apt_install "${need[@]}"
	fi
}

# --- build helpers ----------------------------------------------------------
ROOTFS=""
# Unmount anything debootstrap may have left mounted in the rootfs, then delete it.
remove_rootfs() {
	local dir="$1" m
	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	# Deepest mount points first.
	while read -r m; do
		as_root umount -l "$m" 2>/dev/null || true
	done < <(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
	as_root rm -rf --one-file-system "$dir"
}
cleanup() {
	local rc=$?
	if [ -n "$ROOTFS" ]; then remove_rootfs "$ROOTFS"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Installed version of a package inside the rootfs.
# shellcheck disable=SC2016 # ${Version} is a dpkg-query format field
pkg_version() { as_root chroot "$1" dpkg-query -W -f='${Version}' "$2"; }

# uid:gid of a user inside the rootfs.
rootfs_ids() { awk -F: -v u="$2" '$1 == u { print $3 ":" $4 }' "$1/etc/passwd"; }

# debootstrap NAME PACKAGES -> sets ROOTFS
bootstrap() {
	local name="$1" pkgs="$2" logf
	ROOTFS="$BUILD_ROOT/$name-rootfs"
	logf="$BUILD_ROOT/$name-debootstrap.log"
	remove_rootfs "$ROOTFS"
	log "debootstrap $SUITE (minbase + $pkgs) from $MIRROR -> $ROOTFS"
	if ! as_root debootstrap --variant=minbase --include="$pkgs" \
			--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
			"$SUITE" "$ROOTFS" "$MIRROR" > "$logf" 2>&1; then
		tail -n 30 "$logf" >&2 || true
		[ -f "$ROOTFS/debootstrap/debootstrap.log" ] && tail -n 30 "$ROOTFS/debootstrap/debootstrap.log" >&2
		die "debootstrap failed (full log: $logf)"
	fi
	rm -f "$logf"
}

# Things no container needs: docs, man pages, translations, apt lists/caches,
# logs, the host's resolv.conf (Docker provides one at run time).
strip_rootfs() {
	local r="$1"
	as_root find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
	as_root find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
	as_root rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/lintian "$r"/usr/share/linda \
		"$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
		"$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old "$r"/tmp/* "$r"/var/tmp/* "$r"/root/.bash_history
	as_root find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} + 2>/dev/null || true
	as_root find "$r/var/log" -type f -delete 2>/dev/null || true
	as_root find "$r/dev" -mindepth 1 -delete 2>/dev/null || true
	as_root sh -c ": > '$r/etc/resolv.conf'; rm -f '$r/etc/hostname'"
	# Keep later `apt-get install`s inside the image small too.
	as_root mkdir -p "$r/etc/dpkg/dpkg.cfg.d"
	as_root tee "$r/etc/dpkg/dpkg.cfg.d/01-backup-bot-nodoc" > /dev/null <<-'EOF'
		path-exclude=/usr/share/doc/*
		path-include=/usr/share/doc/*/copyright
		path-exclude=/usr/share/man/*
		path-exclude=/usr/share/info/*
		path-exclude=/usr/share/locale/*
		path-include=/usr/share/locale/locale.alias
	EOF
}

# import_image ROOTFS IMAGE ALIAS STOPSIGNAL SMOKE_CMD CHANGE...
# `docker import` cannot set STOPSIGNAL (Docker 20.10 rejects it as a --change),
# so the imported image is committed once more from a created (never started)
# container that carries --stop-signal; that adds no layer.
import_image() {
	local r="$1" image="$2" alias="$3" stopsig="$4" smoke="$5" old_id="" imported cid
	shift 5
	local changes=()
	for c in "$@"; do changes+=(--change "$c"); done
	old_id="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"

	log "importing $r as $image"
	imported="$(as_root tar -C "$r" --numeric-owner -c . | docker import "${changes[@]}" \
		--message "backup-bot staging image (debootstrap $SUITE)" -)"
	cid="$(docker create --stop-signal "$stopsig" "$imported")"
	docker commit --message "set stop signal $stopsig" "$cid" "$image" > /dev/null
	docker rm "$cid" > /dev/null
	docker tag "$image" "$alias"
	# Drop the now-unreferenced untagged import (the committed image keeps its layer).
	docker image rm "$imported" > /dev/null 2>&1 || true
	if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
		docker image rm "$old_id" > /dev/null 2>&1 || log "note: previous $image ($old_id) still in use; not removed"
	fi

	log "smoke test: $smoke"
	# shellcheck disable=SC2086
	docker run --rm --network none "$image" $smoke >&2 || die "smoke test failed for $image"
	log "built $image (+ $alias): $(docker image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
}

build_postgres() {
	local image=postgres:15 alias=backup-bot/staging-postgres:15 start ids
	if [ "$force" = 0 ] && image_exists "$image"; then
		image_exists "$alias" || docker tag "$image" "$alias"
		log "$image already exists (use --force to rebuild)"
		return 0
	fi
	start=$SECONDS
	bootstrap postgres postgresql-15
	local r="$ROOTFS"

	# The package's postinst created a Debian-style cluster (15/main); we initdb
	# our own in $PGDATA on first container start instead.
	as_root rm -rf "$r/etc/postgresql/15" "$r/var/lib/postgresql/15"
	ids="$(rootfs_ids "$r" postgres)"
	[ -n "$ids" ] || die "no postgres user in the rootfs"
	as_root install -m 0755 "$SCRIPT_DIR/staging/postgres-entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
	as_root mkdir -p "$r/var/lib/postgresql/data" "$r/run/postgresql" "$r/docker-entrypoint-initdb.d"
	as_root chown "$ids" "$r/var/lib/postgresql" "$r/var/lib/postgresql/data" "$r/run/postgresql"
	as_root chmod 700 "$r/var/lib/postgresql/data"
	as_root chmod 2775 "$r/run/postgresql"
	# Production databases are often en_US.UTF-8; `pg_restore --create` of such a
	# dump needs that locale to exist (the official image generates it too).
	as_root chroot "$r" localedef -i en_US -c -f UTF-8 -A /usr/share/locale/locale.alias en_US.UTF-8
	if [ "${STAGING_KEEP_JIT:-0}" != 1 ]; then
		# JIT (LLVM, ~135 MB) is useless for restore tests; without the provider
		# library PostgreSQL just reports JIT as unavailable.
		as_root rm -rf "$r"/usr/lib/postgresql/15/lib/llvmjit* "$r"/usr/lib/postgresql/15/lib/bitcode \
			"$r"/usr/lib/x86_64-linux-gnu/libLLVM-*.so* "$r"/usr/lib/*-linux-gnu/libLLVM-*.so*
	fi
	strip_rootfs "$r"

	import_image "$r" "$image" "$alias" SIGINT "pg_restore --version" \
		'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
		'CMD ["postgres"]' \
		'EXPOSE 5432' \
		"ENV PATH=/usr/lib/postgresql/15/bin:$BASE_PATH" \
		'ENV PG_MAJOR=15' \
		'ENV PGDATA=/var/lib/postgresql/data' \
		'ENV LANG=C.UTF-8' \
		'USER postgres' \
		'WORKDIR /var/lib/postgresql' \
		'LABEL backup-bot.staging=postgres' \
		"LABEL backup-bot.staging.version=$(pkg_version "$r" postgresql-15)"
	remove_rootfs "$r"; ROOTFS=""
	log "postgres build took $((SECONDS - start)) s"
}

build_mariadb() {
	local image=mariadb:10.11 alias=backup-bot/staging-mariadb:10.11 start ids
	if [ "$force" = 0 ] && image_exists "$image"; then
		image_exists "$alias" || docker tag "$image" "$alias"
		log "$image already exists (use --force to rebuild)"
		return 0
	fi
	start=$SECONDS
	bootstrap mariadb mariadb-server
	local r="$ROOTFS"

	# The postinst ran mariadb-install-db; start from an empty datadir instead.
	as_root find "$r/var/lib/mysql" -mindepth 1 -delete
	ids="$(rootfs_ids "$r" mysql)"
	[ -n "$ids" ] || die "no mysql user in the rootfs"
	as_root install -m 0755 "$SCRIPT_DIR/staging/mariadb-entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
	as_root mkdir -p "$r/run/mysqld" "$r/docker-entrypoint-initdb.d"
	as_root chown "$ids" "$r/var/lib/mysql" "$r/run/mysqld"
	# Listen on all addresses (Debian's 50-server.cnf binds 127.0.0.1), no DNS.
	as_root tee "$r/etc/mysql/mariadb.conf.d/99-backup-bot-staging.cnf" > /dev/null <<-'EOF'
		[mariadbd]
		bind-address = *
		port = 3306
		skip-name-resolve
		host-cache-size = 0
		# No binary log here, so Debian's expire_logs_days = 10 only causes a warning.
		expire_logs_days = 0
	EOF
	strip_rootfs "$r"

	import_image "$r" "$image" "$alias" SIGTERM "mariadb-dump --version" \
		'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
		'CMD ["mariadbd"]' \
		'EXPOSE 3306' \
		"ENV PATH=$BASE_PATH" \
		'ENV LANG=C.UTF-8' \
		'USER mysql' \
		'WORKDIR /var/lib/mysql' \
		'LABEL backup-bot.staging=mariadb' \
		"LABEL backup-bot.staging.version=$(pkg_version "$r" mariadb-server)"
	remove_rootfs "$r"; ROOTFS=""
	log "mariadb build took $((SECONDS - start)) s"
}

# --- main -------------------------------------------------------------------
need_build=0
if [ "$want_pg" = 1 ] && { [ "$force" = 1 ] || ! image_exists postgres:15; }; then need_build=1; fi
if [ "$want_mariadb" = 1 ] && { [ "$force" = 1 ] || ! image_exists mariadb:10.11; }; then need_build=1; fi
if [ "$need_build" = 1 ]; then
	ensure_debootstrap
	mkdir -p "$BUILD_ROOT"
	# One build at a time per build dir (the lock file stays; .staging-build/ is git-ignored).
	exec 9> "$BUILD_ROOT/.lock"
	flock -w 900 9 || die "another build holds $BUILD_ROOT/.lock"
fi

if [ "$want_pg" = 1 ]; then build_postgres; fi
if [ "$want_mariadb" = 1 ]; then build_mariadb; fi
