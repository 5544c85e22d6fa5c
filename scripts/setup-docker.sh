#!/usr/bin/env bash
# Make sure a Docker daemon is reachable, for backup-bot's restore tests.
#
# - `docker info` already works            -> nothing to do.
# - dockerd not installed                   -> apt-get install docker.io (Debian).
# - dockerd not running (no systemd here)   -> start it in the background, detached
#   from this script (setsid + nohup), logging to /var/log/backup-bot-dockerd.log,
#   and wait up to 60 s for it to answer.
#
# dockerd flags are chosen by probing the machine rather than hard-coded:
#   --storage-driver   overlay2 if an overlay mount works on the data-root's
#                      filesystem, else fuse-overlayfs (if installed), else vfs
#   --iptables         true if `iptables -t nat` works, else false (published
#                      ports then go through docker-proxy only, which is all that
#                      127.0.0.1 publishing needs)
#   --exec-opt native.cgroupdriver=cgroupfs   (no systemd to delegate cgroups to)
#   --userland-proxy=true   host -> 127.0.0.1:PORT -> container goes through
#                      docker-proxy; without it 127.0.0.1 needs route_localnet hacks
# Finally a throw-away probe container publishing a port on 127.0.0.1 is run to
# prove the daemon can create containers and program port mappings; if that
# fails on overlay2 the daemon is restarted once with vfs.
#
# Env: BACKUP_BOT_DOCKERD_FLAGS     extra dockerd flags (appended)
#      BACKUP_BOT_DOCKERD_LOG       log file (default /var/log/backup-bot-dockerd.log)
#      BACKUP_BOT_DOCKER_WAIT       seconds to wait for the daemon (default 60)
#      BACKUP_BOT_DOCKER_STORAGE_DRIVER  skip the probe and use this storage driver
set -euo pipefail

LOG_FILE="${BACKUP_BOT_DOCKERD_LOG:-/var/log/backup-bot-dockerd.log}"
WAIT_SECS="${BACKUP_BOT_DOCKER_WAIT:-60}"
DATA_ROOT=/var/lib/docker
PROBE_IMAGE=backup-bot/dockerd-probe:latest
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() { printf '[setup-docker] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SUDO=()
if [ "$(id -u)" != 0 ]; then
	if command -v sudo > /dev/null 2>&1; then SUDO=(sudo); else SUDO=(); fi
fi
as_root() {
	if [ "$(id -u)" = 0 ] || [ "${#SUDO[@]}" -gt 0 ]; then "${SUDO[@]}" "$@"; else
		die "need root for: $* (run as root or install sudo)"
	fi
}

docker_ok() { docker info > /dev/null 2>&1; }

# --- 1. already working? ------------------------------------------------------
if command -v docker > /dev/null 2>&1 && docker_ok; then
	log "Docker daemon is already reachable ($(docker info --format '{{.ServerVersion}}, storage {{.Driver}}' 2>/dev/null))"
	exit 0
fi
if command -v docker > /dev/null 2>&1 && [ -S /var/run/docker.sock ] \
	&& docker info 2>&1 | grep -qi 'permission denied'; then
	die "a Docker daemon is running but $(id -un) may not use /var/run/docker.sock; add the user to the 'docker' group or run as root"
fi

# --- 2. install ---------------------------------------------------------------
apt_updated=0
apt_install() {
	command -v apt-get > /dev/null 2>&1 || die "cannot install $*: apt-get not found (Debian/Ubuntu only)"
	# Only refresh the package lists if the package is not known yet.
	if [ "$apt_updated" = 0 ] && ! apt-cache show "$@" > /dev/null 2>&1; then
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
		apt_updated=1
	fi
	# Without systemd nothing may start services from a maintainer script; a
	# temporary policy-rc.d (exit 101 = "not allowed") keeps the postinst from
	# trying (and failing, which would fail the install). We start dockerd below.
	local policy=/usr/sbin/policy-rc.d added_policy=0
	if [ ! -d /run/systemd/system ] && [ ! -e "$policy" ]; then
		as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
		added_policy=1
	fi
	local rc=0
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" || rc=$?
	if [ "$added_policy" = 1 ]; then as_root rm -f "$policy"; fi
	[ "$rc" = 0 ] || die "apt-get install $* failed"
}

if ! command -v dockerd > /dev/null 2>&1; then
	log "dockerd not installed; installing Debian's docker.io"
	apt_install docker.io
	hash -r
fi
command -v dockerd > /dev/null 2>&1 || die "dockerd still not found after installing docker.io"
command -v docker > /dev/null 2>&1 || die "docker CLI not found"

# With systemd, the package (or an earlier boot) may have started it already.
if [ -d /run/systemd/system ] && ! docker_ok; then
	as_root systemctl start docker > /dev/null 2>&1 || true
fi
if docker_ok; then
	log "Docker daemon is reachable"
	exit 0
fi

# --- 3. is one already starting? ------------------------------------------------
dockerd_pid() {
	local pid
	pid="$(as_root cat /var/run/docker.pid 2>/dev/null || true)"
	if [ -n "$pid" ] && as_root kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}
wait_for_docker() { # wait_for_docker PID SECONDS
	local pid="$1" secs="$2" i
	for ((i = 0; i < secs * 4; i++)); do
		if docker_ok; then return 0; fi
		if [ -n "$pid" ] && ! as_root kill -0 "$pid" 2>/dev/null; then return 1; fi
		sleep 0.25
	done
	docker_ok
}
existing="$(dockerd_pid)"
if [ -n "$existing" ]; then
	log "dockerd (pid $existing) is running but not answering yet; waiting up to ${WAIT_SECS}s"
	if wait_for_docker "$existing" "$WAIT_SECS"; then log "Docker daemon is reachable"; exit 0; fi
	die "dockerd pid $existing is running but 'docker info' fails; not starting a second one. Check its log (${LOG_FILE})."
fi

# --- 4. cgroups -------------------------------------------------------------------
if [ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ]; then
	log "/sys/fs/cgroup is empty; mounting cgroups"
	if command -v cgroupfs-mount > /dev/null 2>&1; then
		as_root cgroupfs-mount || true
	fi
	if [ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ]; then
		as_root mount -t cgroup2 none /sys/fs/cgroup || die "cannot mount cgroups on /sys/fs/cgroup"
	fi
fi

# --- 5. choose flags ------------------------------------------------------------
overlay_works() {
	grep -qw overlay /proc/filesystems 2>/dev/null || return 1
	as_root mkdir -p "$DATA_ROOT"
	local t rc=0
	t="$(as_root mktemp -d "$DATA_ROOT/.overlay-probe.XXXXXX")"
	as_root mkdir -p "$t/lower" "$t/upper" "$t/work" "$t/merged"
	if as_root mount -t overlay overlay -o "lowerdir=$t/lower,upperdir=$t/upper,workdir=$t/work" "$t/merged" 2>/dev/null; then
		as_root touch "$t/merged/probe" 2>/dev/null || rc=1
		as_root umount "$t/merged" 2>/dev/null || true
	else
		rc=1
	fi
	as_root rm -rf "$t"
	return "$rc"
}
choose_storage_driver() {
	if overlay_works; then echo overlay2
	elif command -v fuse-overlayfs > /dev/null 2>&1 && [ -c /dev/fuse ]; then echo fuse-overlayfs
	else echo vfs
	fi
}
iptables_works() { as_root iptables -t nat -L -n > /dev/null 2>&1; }

base_flags=(
	--host=unix:///var/run/docker.sock
	--exec-opt native.cgroupdriver=cgroupfs
	--userland-proxy=true
)
if iptables_works; then base_flags+=(--iptables=true)
else
	log "iptables (nat table) unusable here: starting dockerd with --iptables=false --ip-masq=false"
	base_flags+=(--iptables=false --ip-masq=false)
fi
storage="${BACKUP_BOT_DOCKER_STORAGE_DRIVER:-$(choose_storage_driver)}"

# --- 6. start -----------------------------------------------------------------------
start_dockerd() { # start_dockerd STORAGE_DRIVER
	local flags=("${base_flags[@]}" "--storage-driver=$1")
	# shellcheck disable=SC2206 # extra flags are word-split on purpose
	[ -n "${BACKUP_BOT_DOCKERD_FLAGS:-}" ] && flags+=(${BACKUP_BOT_DOCKERD_FLAGS})
	as_root mkdir -p "$(dirname "$LOG_FILE")"
	log "starting: dockerd ${flags[*]}  (log: $LOG_FILE)"
	# setsid: own session, so it survives this script and its terminal;
	# nohup + </dev/null: no SIGHUP, no stdin. The inner shell writes the pid.
	local q
	q="$(printf '%q ' "$(command -v dockerd)" "${flags[@]}")"
	as_root sh -c "echo '=== $(date -u +%FT%TZ) setup-docker.sh: $q' >> '$LOG_FILE'; setsid nohup $q >> '$LOG_FILE' 2>&1 < /dev/null & echo \$!"
}
dump_log_and_die() {
	log "$1"
	log "---- docker info ----"
	docker info 2>&1 | tail -n 5 >&2 || true
	log "---- last 40 lines of $LOG_FILE ----"
	as_root tail -n 40 "$LOG_FILE" >&2 || true
	exit 1
}
stop_dockerd() { # stop_dockerd PID
	as_root kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 100); do as_root kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	as_root kill -KILL "$1" 2>/dev/null || true
}

# A tiny image made from the host's /bin/sh and its libraries (no registry needed).
probe() {
	local dir rc=0 lib
	dir="$(mktemp -d)"
	mkdir -p "$dir/bin"
	cp "$(readlink -f /bin/sh)" "$dir/bin/sh"
	for lib in $(ldd /bin/sh | grep -o '/[^ ]*'); do
		mkdir -p "$dir$(dirname "$lib")"
		cp -L "$lib" "$dir$lib"
	done
	tar -C "$dir" -c . | docker import - "$PROBE_IMAGE" > /dev/null || rc=1
	rm -rf "$dir"
	[ "$rc" = 0 ] || return 1
	# Creating the container and programming a 127.0.0.1 port mapping is what
	# fails when the storage driver or iptables is broken.
	docker run --rm --label backup-bot.probe=1 -p 127.0.0.1::9 "$PROBE_IMAGE" /bin/sh -c 'exit 0' > /dev/null 2>&1 || rc=1
	docker image rm "$PROBE_IMAGE" > /dev/null 2>&1 || true
	return "$rc"
}

pid="$(start_dockerd "$storage")"
log "dockerd pid $pid; waiting up to ${WAIT_SECS}s for 'docker info'"
wait_for_docker "$pid" "$WAIT_SECS" || dump_log_and_die "dockerd did not come up within ${WAIT_SECS}s (storage driver $storage)"

if ! probe; then
	if [ "$storage" = vfs ]; then
		dump_log_and_die "dockerd is up but cannot run a container with a 127.0.0.1 published port"
	fi
	log "probe container failed with storage driver $storage; restarting dockerd with vfs"
	stop_dockerd "$pid"
	storage=vfs
	pid="$(start_dockerd "$storage")"
	wait_for_docker "$pid" "$WAIT_SECS" || dump_log_and_die "dockerd (vfs) did not come up within ${WAIT_SECS}s"
	probe || dump_log_and_die "dockerd (vfs) is up but cannot run a container with a 127.0.0.1 published port"
fi

log "Docker daemon ready: pid $pid, $(docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}, cgroup {{.CgroupDriver}} v{{.CgroupVersion}}' 2>/dev/null)"
