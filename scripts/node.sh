#!/usr/bin/env bash
# Runs a supported Node.js (>= 22) with the given arguments:
#   the machine's `node` when it is 22 or newer, otherwise Node 24 LTS under .tools/ (git-ignored),
#   provisioned on first use from the npm package node-linux-<arch> (version and integrity pinned below;
#   the package holds the official binary and headers, no install script, nothing else is downloaded).
#
#   bash scripts/node.sh [node arguments...]   run that node (`npm start`, `npm run jest`, the linters)
#   bash scripts/node.sh --bin-dir             provision if needed, print the directory holding that node
#                                              (scripts/test.sh puts it first on PATH, so npm, tsc, jest and
#                                              every `node` the tests spawn run on it)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

NODE_VERSION=24.21.0
declare -A NODE_INTEGRITY=(
  [x64]=sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==
  [arm64]=sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==
)
MIN_MAJOR=22

log() { printf '[node.sh] %s\n' "$*" >&2; }

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# npm's integrity format (sha512-<base64>) of a file, with coreutils only (no xxd/openssl on a minimal Debian)
integrity_of() { printf '%b' "$(sha512sum "$1" | cut -d' ' -f1 | sed 's/../\\x&/g')" | base64 -w0 | sed 's/^/sha512-/'; }

provisioned_bin_dir() {
  local arch
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) log "no Node $NODE_VERSION package for $(uname -m): install Node >= $MIN_MAJOR yourself"; exit 1 ;;
  esac
  local dir="$root/.tools/node-v$NODE_VERSION-linux-$arch"
  if [ -x "$dir/bin/node" ]; then printf '%s\n' "$dir/bin"; return; fi

  mkdir -p "$root/.tools"
  # One provisioner at a time (npm start and a test run may start together); the loser finds it done.
  exec 9>"$root/.tools/.lock"
  flock 9
  if [ ! -x "$dir/bin/node" ]; then
    log "machine node is $(node --version 2>/dev/null || echo absent); provisioning Node $NODE_VERSION under .tools/"
    local tmp
    tmp="$(mktemp -d "$root/.tools/.provision.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    npm pack --silent --pack-destination "$tmp" "node-linux-$arch@$NODE_VERSION" >/dev/null
    local tgz="$tmp/node-linux-$arch-$NODE_VERSION.tgz"
    local got
    got="$(integrity_of "$tgz")"
    if [ "$got" != "${NODE_INTEGRITY[$arch]}" ]; then
      log "node-linux-$arch@$NODE_VERSION: integrity $got, expected ${NODE_INTEGRITY[$arch]}"; exit 1
    fi
    mkdir "$tmp/node"
    tar -xzf "$tgz" -C "$tmp/node" --strip-components=1
    "$tmp/node/bin/node" --version >/dev/null
    mv -T "$tmp/node" "$dir"   # appears whole under its final name, or not at all
    rm -rf "$tmp"
    trap - EXIT
    log "Node $NODE_VERSION ready: $dir/bin/node"
  fi
  exec 9>&-
  printf '%s\n' "$dir/bin"
}

bin_dir() {
  local machine
  machine="$(command -v node || true)"
  if [ -n "$machine" ] && [ "$(major_of "$machine")" -ge "$MIN_MAJOR" ]; then dirname "$machine"; return; fi
  provisioned_bin_dir
}

if [ "${1:-}" = --bin-dir ]; then bin_dir; exit; fi
dir="$(bin_dir)"
exec "$dir/node" "$@"
