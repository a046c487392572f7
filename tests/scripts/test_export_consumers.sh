#!/usr/bin/env bash
# Metrics exports checked by the tools people read them with:
#   metrics.prom  promtool check metrics (no lint), an independent parser, and
#                 a real Prometheus server scraping it on 127.0.0.1 and
#                 answering PromQL queries (counter, histogram_quantile,
#                 summary, hostile label values);
#   metrics.json  python3 json (strict: no NaN/Infinity tokens);
#   metrics.csv   python3 csv (RFC 4180).
# The values come from tests/tools/metrics_export_tool, which also writes
# what they must be (expected.json).
#
# Environment (set by ctest): VITTE_BUILD_DIR.  Exit 77 = skipped because a
# consumer is missing (the checks that could run still ran).
set -uo pipefail

tool=${VITTE_BUILD_DIR:-}/tests/metrics_export_tool
if [[ -z ${VITTE_BUILD_DIR:-} || ! -x $tool ]]; then
    echo "skip: $tool not built (VITTE_BUILD_DIR=${VITTE_BUILD_DIR:-unset})"
    exit 77
fi
if ! command -v python3 >/dev/null; then
    echo "skip: python3 not installed (it runs every check of this test)"
    exit 77
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
missing=()
fail() {
    failures=$((failures + 1))
    echo "FAIL: $*"
}

# ---- produce the files -------------------------------------------------------------
mkdir -p "$tmp/out"
if ! "$tool" "$tmp/out" >"$tmp/tool.log" 2>&1; then
    sed 's/^/  /' "$tmp/tool.log"
    fail "metrics_export_tool failed"
    exit 1
fi
echo "ok: metrics_export_tool wrote $(cd "$tmp/out" && echo *)"

# ---- promtool --------------------------------------------------------------------------
if command -v promtool >/dev/null; then
    promtool check metrics <"$tmp/out/metrics.prom" >"$tmp/promtool.out" 2>&1
    rc=$?
    if [[ $rc != 0 || -s $tmp/promtool.out ]]; then
        sed 's/^/  promtool: /' "$tmp/promtool.out" | head -n 20
        fail "promtool check metrics exited $rc or printed lint"
    else
        echo "ok: promtool check metrics: exit 0, no output"
    fi
else
    missing+=(promtool)
fi

# ---- the files, parsed by python ----------------------------------------------------------
cat >"$tmp/check_files.py" <<'PY'
import csv, io, json, re, sys

out = sys.argv[1]
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


def reject_constant(name):
    raise ValueError("non-standard JSON constant " + name)


exp = json.load(open(out + "/expected.json", encoding="utf-8"))
with open(out + "/metrics.json", encoding="utf-8") as f:
    doc = json.load(f, parse_constant=reject_constant)


def close(a, b, rel=1e-12):
    return a == b or (a is not None and b is not None and abs(a - b) <= rel * max(abs(a), abs(b)))


# ---- JSON ----
check(doc.get("format") == "vitte-metrics", "json: format")
check(doc.get("version") == 1, "json: version")
check(isinstance(doc.get("timestamp_unix_ns"), int) and doc["timestamp_unix_ns"] > 1.5e18,
      "json: timestamp_unix_ns")
check(isinstance(doc.get("vitte_version"), str), "json: vitte_version")
fams = {}
for fam in doc["metrics"]:
    check(fam["name"] not in fams, "json: family %r twice" % fam["name"])
    fams[fam["name"]] = fam
    check(fam["label_names"] == sorted(fam["label_names"]), "json: label_names sorted")
    for s in fam["series"]:
        check(sorted(s["labels"]) == fam["label_names"], "json: %s labels" % fam["name"])

type_json = {"counter": "counter", "gauge": "gauge", "histogram": "histogram",
             "meter": "meter", "series": "series"}


def json_series(name, labels):
    fam = fams.get(name)
    if fam is None:
        return None, None
    for s in fam["series"]:
        if s["labels"] == labels:
            return fam, s
    return fam, None


for e in exp["metrics"]:
    fam, s = json_series(e["name"], e["labels"])
    what = "json: %s %r" % (e["name"], e["labels"])
    if s is None:
        errors.append(what + ": missing")
        continue
    check(fam["type"] == type_json[e["type"]], what + ": type " + fam["type"])
    t = e["type"]
    if t in ("counter", "gauge"):
        check(s["value"] == e["value"], what + ": value %r != %r" % (s["value"], e["value"]))
    elif t == "histogram":
        check(s["count"] == e["count"], what + ": count %r != %r" % (s["count"], e["count"]))
        check(close(s["sum"], e["sum"], 1e-9), what + ": sum %r != %r" % (s["sum"], e["sum"]))
        check(sum(b[2] for b in s["buckets"]) == s["count"], what + ": buckets add up")
        for le, cum in e.get("buckets", []):
            if le == "+Inf":
                continue
            got = sum(b[2] for b in s["buckets"] if b[1] is not None and b[1] <= le)
            check(got == cum, what + ": values <= %s: %d != %d" % (le, got, cum))
    elif t == "meter":
        check(s["count"] == e["count"], what + ": count")
    elif t == "series":
        check(s["values"] == e["values"], what + ": values %r" % s["values"])
        check(s["total_count"] == e["total_count"], what + ": total_count")
        check(s["total_sum"] == e["total_sum"], what + ": total_sum")
        check(s["p50"] == e["p50"], what + ": p50")

hostile = sorted(exp["hostile_values"])
got = sorted(s["labels"]["path"] for s in fams["vitte_test_hostile"]["series"])
check(got == hostile, "json: hostile label values %r" % got)
items = fams["vitte_test_items"]["series"]
check(len(items) == exp["items_shards"], "json: %d item shards" % len(items))
check(all(s["value"] == 3 * int(s["labels"]["shard"]) for s in items), "json: item values")

# ---- CSV ----
with open(out + "/metrics.csv", newline="", encoding="utf-8") as f:
    raw = f.read()
check(raw.endswith("\r\n"), "csv: CRLF line ends")
rows = list(csv.reader(io.StringIO(raw, newline="")))
check(rows[0] == ["name", "type", "unit", "labels", "stat", "value"], "csv: header %r" % rows[0])


def parse_labels(field):
    labels, key, cur, i = {}, None, "", 0
    while i < len(field):
        c = field[i]
        if c == "\\" and i + 1 < len(field):
            cur += field[i + 1]
            i += 2
            continue
        if c == "=" and key is None:
            key, cur = cur, ""
        elif c == ";":
            labels[key] = cur
            key, cur = None, ""
        else:
            cur += c
        i += 1
    if key is not None:
        labels[key] = cur
    return labels


table = {}
for r in rows[1:]:
    check(len(r) == 6, "csv: row with %d fields: %r" % (len(r), r))
    if len(r) != 6:
        continue
    key = (r[0], frozenset(parse_labels(r[3]).items()), r[4])
    check(key not in table, "csv: duplicate row %r" % (r,))
    table[key] = r


def csv_value(name, labels, stat):
    r = table.get((name, frozenset(labels.items()), stat))
    return None if r is None else float(r[5])


for e in exp["metrics"]:
    n, l, t = e["name"], e["labels"], e["type"]
    what = "csv: %s %r" % (n, l)
    if t in ("counter", "gauge"):
        check(csv_value(n, l, "value") == e["value"], what + ": value")
    elif t == "histogram":
        check(csv_value(n, l, "count") == e["count"], what + ": count")
        check(close(csv_value(n, l, "sum"), e["sum"], 1e-9), what + ": sum")
        for le, cum in e.get("buckets", []):
            stat = "le=+Inf" if le == "+Inf" else "le=%g" % le
            check(csv_value(n, l, stat) == cum, what + ": " + stat)
    elif t == "meter":
        check(csv_value(n, l, "count") == e["count"], what + ": count")
    elif t == "series":
        check(csv_value(n, l, "total_count") == e["total_count"], what + ": total_count")
        check(csv_value(n, l, "total_sum") == e["total_sum"], what + ": total_sum")
        check(csv_value(n, l, "p50") == e["p50"], what + ": p50")
got = sorted(parse_labels(r[3])["path"] for r in rows[1:]
             if r[0] == "vitte_test_hostile" and r[4] == "value")
check(got == hostile, "csv: hostile label values %r" % got)

# ---- Prometheus text, parsed independently of promtool ----
ESC = {"\\": "\\", '"': '"', "n": "\n"}
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
samples, types, order = {}, {}, []
with open(out + "/metrics.prom", encoding="utf-8", newline="") as f:
    text = f.read()
check(text.endswith("\n") and "\r" not in text, "prom: line ends")
for line in text.split("\n")[:-1]:
    if line.startswith("# TYPE "):
        _, _, name, typ = line.split(" ", 3)
        check(name not in types, "prom: second TYPE for " + name)
        types[name] = typ
        order.append(name)
        continue
    if line.startswith("# HELP "):
        continue
    m = line_re.match(line)
    if not m:
        errors.append("prom: bad line %r" % line)
        continue
    name, body, value = m.group(1), m.group(3) or "", m.group(4)
    labels, i = {}, 0
    while i < len(body):
        j = body.index('="', i)
        key, i, val = body[i:j], j + 2, ""
        while body[i] != '"':
            if body[i] == "\\":
                val += ESC[body[i + 1]]
                i += 2
            else:
                val += body[i]
                i += 1
        labels[key] = val
        i += 1
        if i < len(body):
            check(body[i] == ",", "prom: label separator in %r" % line)
            i += 1
    fam = order[-1] if order else None
    check(fam is not None and (name == fam or name.startswith(fam + "_")),
          "prom: %s outside its family" % name)
    samples[(name, frozenset(labels.items()))] = float(value)


def prom(name, labels, **extra):
    d = dict(labels)
    d.update(extra)
    return samples.get((name, frozenset(d.items())))


for e in exp["metrics"]:
    n, l, t = e["prom"], e["labels"], e["type"]
    what = "prom: %s %r" % (n, l)
    if t in ("counter", "gauge"):
        check(prom(n, l) == e["value"], what + ": value %r" % prom(n, l))
    elif t == "meter":
        check(prom(n, l) == e["count"], what + ": count")
    elif t == "histogram":
        check(types.get(n) == "histogram", what + ": TYPE")
        check(prom(n + "_count", l) == e["count"], what + ": _count")
        check(prom(n + "_bucket", l, le="+Inf") == e["count"], what + ": +Inf bucket")
        check(close(prom(n + "_sum", l), e["sum"], 1e-9), what + ": _sum")
        for le, cum in e.get("buckets", []):
            check(prom(n + "_bucket", l, le=str(le)) == cum, what + ": le=%s" % le)
    elif t == "series":
        check(types.get(n) == "summary", what + ": TYPE")
        check(prom(n + "_count", l) == e["total_count"], what + ": _count")
        check(prom(n + "_sum", l) == e["total_sum"], what + ": _sum")
        check(prom(n, l, quantile="0.5") == e["p50"], what + ": quantile 0.5")
# every histogram: cumulative, ending at _count
for (name, lset), v in samples.items():
    if not name.endswith("_bucket"):
        continue
    base, labels = name[:-7], dict(lset)
    if labels.get("le") != "+Inf":
        continue
    del labels["le"]
    check(v == prom(base + "_count", labels), "prom: %s +Inf != _count" % base)
    les = sorted((float(dict(k[1])["le"]), val) for k, val in samples.items()
                 if k[0] == name and {a: b for a, b in k[1] if a != "le"} == labels)
    check(all(a[1] <= b[1] for a, b in zip(les, les[1:])), "prom: %s not cumulative" % base)
got = sorted(dict(k[1])["path"] for k in samples if k[0] == "vitte_test_hostile_total")
check(got == hostile, "prom: hostile label values %r" % got)

for e in errors[:40]:
    print("  " + e)
print("python: %d checks failed" % len(errors) if errors else
      "ok: json, csv and prometheus text parsed by python3 match expected.json")
sys.exit(1 if errors else 0)
PY
python3 "$tmp/check_files.py" "$tmp/out" || fail "python checks of metrics.json/.csv/.prom"

# ---- a real Prometheus server ------------------------------------------------------------
if ! command -v prometheus >/dev/null; then
    missing+=(prometheus)
else
    cat >"$tmp/serve.py" <<'PY'
# Serve one file at /metrics on 127.0.0.1 (port chosen by the kernel,
# written to argv[2] once listening).
import http.server, os, sys

path, portfile = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404)
            return
        body = open(path, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
    python3 "$tmp/serve.py" "$tmp/out/metrics.prom" "$tmp/serve.port" &
    pids+=($!)
    for _ in $(seq 100); do
        [[ -s $tmp/serve.port ]] && break
        sleep 0.1
    done
    serve_port=$(cat "$tmp/serve.port" 2>/dev/null)
    if [[ -z $serve_port ]]; then
        fail "the metrics HTTP server did not start"
        exit 1
    fi

    cat >"$tmp/prom.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: vitte
    static_configs: [{targets: ['127.0.0.1:$serve_port']}]
YML
    free_port() {
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    }
    prom_port=
    for attempt in 1 2 3; do
        port=$(free_port)
        mkdir -p "$tmp/tsdb"
        prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/tsdb" \
            --web.listen-address="127.0.0.1:$port" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
        prom_pid=$!
        pids+=($prom_pid)
        # Ready within ~0.3 s usually; a port lost to a race makes it exit.
        for _ in $(seq 100); do
            if ! kill -0 "$prom_pid" 2>/dev/null; then
                break
            fi
            if python3 -c 'import sys, urllib.request as u
o = u.build_opener(u.ProxyHandler({}))
sys.exit(0 if o.open("http://127.0.0.1:%s/-/ready" % sys.argv[1], timeout=1).status == 200 else 1)' "$port" 2>/dev/null; then
                prom_port=$port
                break
            fi
            sleep 0.1
        done
        [[ -n $prom_port ]] && break
        kill "$prom_pid" 2>/dev/null
        echo "note: prometheus attempt $attempt on port $port failed"
    done
    if [[ -z $prom_port ]]; then
        sed 's/^/  prometheus: /' "$tmp/prometheus.log" | tail -n 20
        fail "prometheus did not become ready"
    else
        cat >"$tmp/check_server.py" <<'PY'
import json, sys, time, urllib.parse, urllib.request

port, out = sys.argv[1], sys.argv[2]
exp = json.load(open(out + "/expected.json", encoding="utf-8"))
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


def api(path, **params):
    url = "http://127.0.0.1:%s/api/v1/%s?%s" % (port, path, urllib.parse.urlencode(params))
    with opener.open(url, timeout=5) as r:
        doc = json.load(r)
    if doc.get("status") != "success":
        raise RuntimeError("%s: %r" % (url, doc))
    return doc["data"]


def query(expr):
    return api("query", query=expr)["result"]


def scalar(expr):
    r = query(expr)
    if len(r) != 1:
        errors.append("%s: %d results" % (expr, len(r)))
        return None
    return float(r[0]["value"][1])


deadline = time.monotonic() + 30
up = None
while time.monotonic() < deadline:
    r = query("count(up==1)")
    up = r[0]["value"][1] if r else None
    if up == "1":
        break
    time.sleep(0.5)
if up != "1":
    print("  target never came up: %r" % api("targets"))
    sys.exit(1)
print("ok: prometheus scraped the target (up after %.1f s)" % (30 - (deadline - time.monotonic())))

t = api("targets")["activeTargets"]
check(len(t) == 1 and t[0]["health"] == "up" and t[0]["lastError"] == "",
      "target health %r" % [(x["health"], x["lastError"]) for x in t])


def sel(name, labels):
    if not labels:
        return name
    inner = ",".join('%s=%s' % (k, json.dumps(v)) for k, v in sorted(labels.items()))
    return "%s{%s}" % (name, inner)


def bucket_quantile(q, buckets):
    # PromQL histogram_quantile over cumulative (le, count) pairs.
    total = buckets[-1][1]
    rank = q * total
    for i, (le, c) in enumerate(buckets):
        if c >= rank:
            if le == "+Inf":
                return buckets[-2][0]
            start, below = (0.0, 0) if i == 0 else (buckets[i - 1][0], buckets[i - 1][1])
            return start + (le - start) * (rank - below) / (c - below)


for e in exp["metrics"]:
    n, l, t = e["prom"], e["labels"], e["type"]
    if n == "vitte_test_hostile_total":
        continue  # below, all at once
    what = "%s %r" % (n, l)
    if t in ("counter", "gauge"):
        v = scalar(sel(n, l))
        check(v == e["value"], what + ": %r != %r" % (v, e["value"]))
    elif t == "meter":
        check(scalar(sel(n, l)) == e["count"], what + ": count")
    elif t == "histogram":
        check(scalar(sel(n + "_count", l)) == e["count"], what + ": _count")
        s = scalar(sel(n + "_sum", l))
        check(s is not None and abs(s - e["sum"]) <= 1e-9 * abs(e["sum"]), what + ": _sum %r" % s)
        if e.get("buckets"):
            for q in (0.25, 0.5, 0.9):
                want = bucket_quantile(q, e["buckets"])
                got = scalar("histogram_quantile(%g, %s)" % (q, sel(n + "_bucket", l)))
                check(got is not None and abs(got - want) <= 1e-9 * want,
                      what + ": histogram_quantile(%g) %r != %r" % (q, got, want))
    elif t == "series":
        check(scalar(sel(n + "_count", l)) == e["total_count"], what + ": _count")
        check(scalar(sel(n, dict(l, quantile="0.5"))) == e["p50"], what + ": quantile 0.5")

got = sorted((r["metric"]["path"], float(r["value"][1])) for r in query("vitte_test_hostile_total"))
want = sorted((v, float(i + 1)) for i, v in enumerate(exp["hostile_values"]))
check(got == want, "hostile label values through Prometheus: %r" % got)
check(scalar("count(vitte_test_items_total)") == exp["items_shards"], "count of item shards")
check(scalar("sum(vitte_test_items_total)") == 3 * sum(range(exp["items_shards"])), "sum of items")

meta = api("metadata", metric="vitte_test_payload_bytes")
check(meta.get("vitte_test_payload_bytes", [{}])[0].get("type") == "histogram", "metadata %r" % meta)

for e in errors[:40]:
    print("  " + e)
print("prometheus: %d checks failed" % len(errors) if errors else
      "ok: prometheus queries (counters, gauges, histogram_quantile, summary, hostile labels) match")
sys.exit(1 if errors else 0)
PY
        python3 "$tmp/check_server.py" "$prom_port" "$tmp/out" || {
            sed 's/^/  prometheus log: /' "$tmp/prometheus.log" | tail -n 20
            fail "checks against the Prometheus server"
        }
    fi
fi

if ((failures > 0)); then
    echo "$failures check group(s) failed"
    exit 1
fi
if ((${#missing[@]} > 0)); then
    echo "skip: not installed: ${missing[*]} (every other check passed)"
    exit 77
fi
echo "all export consumer checks passed"
exit 0
