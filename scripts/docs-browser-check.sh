#!/usr/bin/env bash
# scripts/docs-browser-check.sh -- opens each service's /docs page in a real headless Chromium
# that can reach nothing but this machine's loopback, and fails unless the page rendered every
# operation of the service's /openapi.json and its screenshot is not blank, and the browser
# reported no Content-Security-Policy violation (the page's own policy allows its own files
# only: no inline script, no CDN). Proves the page works offline and under its policy: every
# file it needs is served by the service itself.
#
#   scripts/docs-browser-check.sh [TRANSAKSI_URL] [MUTASI_URL]
#   (defaults http://127.0.0.1:8080 and http://127.0.0.1:8081; scripts/test.sh runs it through
#   scripts/smoke-local.sh against the platform that script starts)
#
# Installs Debian's chromium when missing (as root). The screenshots stay in
# DOCS_CHECK_DIR (default .local/docs-check/) to be looked at.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

say() { echo "[docs-browser-check] $*" >&2; }

TRANSAKSI_URL="${1:-http://127.0.0.1:8080}"
MUTASI_URL="${2:-http://127.0.0.1:8081}"
OUT="${DOCS_CHECK_DIR:-$ROOT/.local/docs-check}"
mkdir -p "$OUT"

command -v chromium >/dev/null || { say "installing Debian's chromium"; apt_install chromium; }
command -v python3 >/dev/null || apt_install python3
command -v curl >/dev/null || apt_install curl

PROFILE="$(mktemp -d "${TMPDIR:-/tmp}/bukubesar-chromium.XXXXXX")"
trap 'rm -rf "$PROFILE"' EXIT

# Headless, and unable to reach any host but loopback: a page that needed a CDN renders
# nothing here, whatever network the machine has.
browser() {
  timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --user-data-dir="$PROFILE" \
    --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost" \
    --window-size=1280,1600 --virtual-time-budget=20000 "$@" 2>>"${BROWSER_LOG:-$OUT/chromium.log}"
}

check() {
  local name="$1" base="$2"
  say "$name: $base/docs"
  curl -fsS "$base/openapi.json" > "$OUT/$name.openapi.json"
  # The browser's console goes to its log: a CSP violation is reported there ("Refused to
  # ... because it violates the following Content Security Policy directive").
  : > "$OUT/$name.console.log"
  BROWSER_LOG="$OUT/$name.console.log" browser --enable-logging=stderr --v=0 \
    --dump-dom "$base/docs/" > "$OUT/$name.dom.html"
  if grep -i 'content security policy' "$OUT/$name.console.log" >&2; then
    say "$name: the browser reported Content-Security-Policy violations on /docs (above; $OUT/$name.console.log)"
    return 1
  fi
  browser --screenshot="$OUT/$name.png" "$base/docs/" >/dev/null
  python3 - "$name" "$OUT/$name.openapi.json" "$OUT/$name.dom.html" "$OUT/$name.png" <<'PY'
import html, json, re, struct, sys, zlib

name, document_path, dom_path, png_path = sys.argv[1:5]
document = json.load(open(document_path))
dom = open(dom_path, encoding="utf-8", errors="replace").read()

# Every operation of the document is on the rendered page: Swagger UI draws each one as an
# "opblock" with its method and path.
shown = set()
for block in re.finditer(r'class="opblock opblock-(\w+)[^"]*".*?data-path="([^"]+)"', dom, re.S):
    shown.add((block.group(1).upper(), html.unescape(block.group(2))))
expected = {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in ("get", "post", "put", "delete", "patch")}
missing = expected - shown
if not expected or missing:
    sys.exit(f"{name}: operations not rendered: {sorted(missing)} (rendered {sorted(shown)})")
title = document["info"]["title"]
if html.escape(title) not in dom and title not in dom:
    sys.exit(f"{name}: the page does not show the title {title!r}")

# The screenshot is not blank: a real page has text and colour, i.e. many distinct pixels.
def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{name}: the screenshot is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = header[:4]
    if depth != 8 or colour not in (2, 6):
        sys.exit(f"{name}: unexpected PNG format (depth {depth}, colour type {colour})")
    step = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * step, [], bytearray(width * step)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - step] if i >= step else 0
            b, c = previous[i], previous[i - step] if i >= step else 0
            if kind == 1: line[i] = (line[i] + a) & 255
            elif kind == 2: line[i] = (line[i] + b) & 255
            elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        previous = line
    return width, height, step, rows

width, height, step, rows = pixels(png_path)
colours, non_white = set(), 0
for line in rows:
    for x in range(0, width * step, step):
        rgb = bytes(line[x:x + 3])
        colours.add(rgb)
        non_white += rgb != b"\xff\xff\xff"
share = non_white / (width * height)
if len(colours) < 16 or share < 0.01:
    sys.exit(f"{name}: the screenshot looks blank ({len(colours)} colours, {share:.1%} not white)")
print(f"{name}: {len(expected)} operations rendered, screenshot {width}x{height} "
      f"with {len(colours)} colours, {share:.0%} not white")
PY
}

check transaksi "$TRANSAKSI_URL"
check mutasi "$MUTASI_URL"
say "both pages render offline; screenshots in $OUT"
