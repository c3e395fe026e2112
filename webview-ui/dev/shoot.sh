#!/usr/bin/env bash
# Renders the explain panel preview in headless Chromium: screenshots of a few scenarios and the interaction checks.
#   node esbuild.mjs && bash webview-ui/dev/shoot.sh [outdir]     (default /tmp/xai-lens-panel)
# Needs /usr/bin/chromium (apt-get install -y chromium) and webview-ui/dev/fixture.json (make-fixture.mjs).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-/tmp/xai-lens-panel}"
mkdir -p "$out"
port=5178
node webview-ui/dev/serve.mjs "$port" >/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
sleep 0.5
chrome=(/usr/bin/chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --run-all-compositor-stages-before-draw)
url="http://127.0.0.1:$port/"
for s in ${SCENARIOS:-result progress error notfound restore}; do
  for theme in ${THEMES:-dark}; do
    "${chrome[@]}" --window-size="${WIDTH:-1100},${HEIGHT:-2300}" --virtual-time-budget=5000 \
      --screenshot="$out/panel-$s-$theme.png" "$url?scenario=$s&theme=$theme" 2>/dev/null
  done
done
"${chrome[@]}" --window-size=1100,2300 --virtual-time-budget=15000 --dump-dom "$url?scenario=interact" 2>/dev/null \
  | sed -n '/<pre id="harness-log"/,/<\/pre>/p' | sed 's/<[^>]*>//g' | sed 's/&quot;/"/g' > "$out/interact.log"
grep -E '"kind":"(check|csp|error|done)"' "$out/interact.log" || true
echo "screenshots and interact.log in $out"
