#!/usr/bin/env bash
# Check an SVG (a flame graph) the way people read it: an XML parser, then a
# browser drawing it.
#
#   tests/consumers/svg_check.sh FILE.svg [OUT.png]
#
#   1. xmllint --noout (Debian libxml2-utils): well-formed XML, or exit 1 with
#      xmllint's message;
#   2. the root element is <svg> in the SVG namespace, with its size (width,
#      height or viewBox) and the number of flame-graph frames (<g> with a
#      <title>, as flamegraph.pl and inferno write them);
#   3. headless Chromium renders it to a PNG (--screenshot, window = the SVG's
#      size), bounded by a timeout, with a fresh --user-data-dir;
#      Its console is logged: an uncaught script error (flame graphs carry
#      JavaScript for zoom and search) fails the check;
#   4. a PNG decoder written here (python3 standard library: zlib + the five
#      PNG filters) reads the screenshot and counts distinct colours and the
#      share of pixels that differ from the top-left (background) pixel.
#      Blank means fewer than 3 colours or under 1% non-background pixels.
# Prints one JSON object (xml_valid, root, width, height, frames,
# png_bytes, png_width, png_height, distinct_colors, nonbg_fraction,
# console, elapsed_ms, errors) and exits 0 when everything holds, 1 when the SVG is
# bad, 2 on usage or setup errors (no xmllint, no chromium, no python3).
# OUT.png keeps the screenshot (default: a temporary file, removed).
#
# Environment: VITTE_CHROMIUM overrides the browser (default /usr/bin/chromium).
set -uo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: svg_check.sh FILE.svg [OUT.png]" >&2
    exit 2
fi
svg=$1
chromium=${VITTE_CHROMIUM:-/usr/bin/chromium}
for tool in xmllint python3 timeout; do
    command -v "$tool" >/dev/null || { echo "svg_check: $tool not installed" >&2; exit 2; }
done
[[ -x $chromium ]] || { echo "svg_check: no browser at $chromium (apt-get install chromium)" >&2; exit 2; }
[[ -r $svg ]] || { echo "svg_check: cannot read $svg" >&2; exit 2; }

start_ns=$(date +%s%N)
tmp=$(mktemp -d)
browser_pid=
cleanup() {
    if [[ -n $browser_pid ]]; then
        kill "$browser_pid" 2>/dev/null
        wait "$browser_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
png=${2:-$tmp/shot.png}
rm -f "$png"

# ---- 1. XML ------------------------------------------------------------------------------------
xml_ok=1
if ! xmllint --noout --nonet "$svg" 2>"$tmp/xmllint.err"; then
    xml_ok=0
fi

# ---- 2. root and size (python3's expat, after xmllint said it is XML) -----------------------------
python3 - "$svg" "$xml_ok" >"$tmp/info" 2>&1 <<'PY'
import re, sys, xml.etree.ElementTree as ET
path, xml_ok = sys.argv[1], sys.argv[2] == "1"
info = {"root": None, "width": None, "height": None, "frames": 0}
if xml_ok:
    try:
        root = ET.parse(path).getroot()
        info["root"] = root.tag
        def num(v):
            m = re.match(r"\s*([0-9.]+)\s*(px)?\s*$", v or "")
            return float(m.group(1)) if m else None
        w, h = num(root.get("width")), num(root.get("height"))
        vb = (root.get("viewBox") or "").replace(",", " ").split()
        if (w is None or h is None) and len(vb) == 4:
            w, h = w or float(vb[2]), h or float(vb[3])
        info["width"], info["height"] = w, h
        ns = "{http://www.w3.org/2000/svg}"
        info["frames"] = sum(1 for g in root.iter(ns + "g") if g.find(ns + "title") is not None)
    except Exception as e:  # noqa: BLE001 - reported, not raised
        info["error"] = str(e)
print(repr(info))
PY

# ---- 3. render ----------------------------------------------------------------------------------
read -r win_w win_h < <(python3 -c '
import ast, sys
i = ast.literal_eval(open(sys.argv[1]).read())
w, h = i.get("width") or 1200, i.get("height") or 800
print(int(min(max(w, 100), 4000) + 0.999), int(min(max(h, 100), 4000) + 0.999))' "$tmp/info" 2>/dev/null || echo 1200 800)
browser_rc=-1
if ((xml_ok)); then
    # Chromium's exit code alone proves nothing; the PNG is checked below.
    timeout -k 2 30 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$tmp/profile" \
        --enable-logging=stderr --v=0 \
        --window-size="$win_w,$win_h" --screenshot="$png" \
        "file://$(readlink -f "$svg")" >"$tmp/browser.log" 2>&1 &
    browser_pid=$!
    wait "$browser_pid"
    browser_rc=$?
    browser_pid=
fi

# ---- 4. the PNG, decoded ---------------------------------------------------------------------------
touch "$tmp/browser.log"
python3 - "$png" "$tmp/info" "$xml_ok" "$tmp/xmllint.err" "$browser_rc" "$start_ns" "$svg" "$tmp/browser.log" <<'PY'
import ast, json, re, struct, sys, time, zlib

png_path, info_path, xml_ok, xml_err, browser_rc, start_ns, svg, browser_log = sys.argv[1:9]
info = ast.literal_eval(open(info_path).read())
out = {"file": svg, "xml_valid": xml_ok == "1", **{k: info.get(k) for k in ("root", "width", "height", "frames")},
       "png_bytes": 0, "png_width": None, "png_height": None, "distinct_colors": 0, "nonbg_fraction": 0.0,
       "console": [], "errors": []}
# What the SVG's scripts said: chromium logs each console message as
#   [..:INFO:CONSOLE:1] "message", source: file:///... (line)
for line in open(browser_log, errors="replace"):
    m = re.search(r':CONSOLE:\d+\] "(.*)", source: ', line)
    if m:
        out["console"].append(m.group(1))
        if m.group(1).startswith("Uncaught"):
            out["errors"].append("script error in the SVG: " + m.group(1))
if xml_ok != "1":
    out["errors"] += ["xmllint: " + l for l in open(xml_err).read().splitlines()[:5]]
elif info.get("root") != "{http://www.w3.org/2000/svg}svg":
    out["errors"].append(f"root element is {info.get('root')}, not svg in the SVG namespace ({info.get('error', '')})")


def decode_png(data):
    """Return (width, height, rows of RGBA tuples) for 8-bit non-interlaced PNGs."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG signature")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]:
            raise ValueError(f"bad CRC in {kind!r} chunk")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or interlace or ctype not in (0, 2, 4, 6):
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw, stride, prev, rows, i = zlib.decompress(idat), w * bpp, bytearray(w * bpp), [], 0
    for _ in range(h):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            elif ftype != 0:
                raise ValueError(f"bad filter type {ftype}")
        rows.append(bytes(line))
        prev = line
    return w, h, rows, bpp


if xml_ok == "1":
    try:
        data = open(png_path, "rb").read()
    except OSError:
        data = b""
    out["png_bytes"] = len(data)
    if not data:
        out["errors"].append(f"chromium wrote no screenshot (exit {browser_rc})")
    else:
        try:
            w, h, rows, bpp = decode_png(data)
            out["png_width"], out["png_height"] = w, h
            colours, bg, nonbg = set(), rows[0][:bpp], 0
            for r in rows:
                for x in range(0, len(r), bpp):
                    px = r[x:x + bpp]
                    colours.add(px)
                    nonbg += px != bg
            out["distinct_colors"] = len(colours)
            out["nonbg_fraction"] = round(nonbg / (w * h), 4)
            if len(colours) < 3 or nonbg / (w * h) < 0.01:
                out["errors"].append(f"screenshot is blank: {len(colours)} colours, "
                                     f"{100 * nonbg / (w * h):.2f}% non-background pixels")
        except Exception as e:  # noqa: BLE001 - reported
            out["errors"].append(f"screenshot unreadable: {e}")
out["elapsed_ms"] = (time.time_ns() - int(start_ns)) // 1_000_000
print(json.dumps(out, indent=1))
for e in out["errors"]:
    print(f"svg_check: {svg}: {e}", file=sys.stderr)
sys.exit(1 if out["errors"] else 0)
PY
