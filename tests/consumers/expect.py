#!/usr/bin/env python3
"""Assertions on the consumer checkers' JSON reports (python3 standard library only).

  expect.py fixture NAME CONSUMER REPORT.json
      compare a checker's report on fixtures/NAME with fixtures/expected.json
      [NAME][CONSUMER] (CONSUMER: speedscope, trace_engine, svg);

  expect.py vitte --events EVENTS.json [--speedscope-chrome R] [--speedscope-folded R]
                  [--trace-engine R] [--svg R]
      compare the reports on vitte's exports with the spans of
      `vitte inspect --format json` (EVENTS.json): per-thread function totals
      and self times from speedscope (Chrome JSON) and from the trace engine,
      merged totals from speedscope (folded stacks), no nesting warnings,
      every flow bound and every async span paired, the SVG drawn.

Prints one "ok: ..." or "FAIL: ..." line per assertion; exit 1 if any failed.
"""
import argparse
import json
import math
import os
import re
import sys

failures = 0


def ok(msg):
    print(f"ok: {msg}")


def fail(msg):
    global failures
    failures += 1
    print(f"FAIL: {msg}")


def close(a, b, tol=1e-6):
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=tol)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def compare_functions(label, got, want, tol=1e-6):
    """got: {name: {total, self}}; want: {name: [total, self]} (missing = 0, 0)."""
    bad = []
    for name in sorted(set(got) | set(want)):
        g = got.get(name, {"total": 0, "self": 0})
        w = want.get(name, [0, 0])
        t = tol(name) if callable(tol) else tol
        if not (close(g["total"], w[0], t) and close(g["self"], w[1], t)):
            bad.append(f"{name}: got total {g['total']:.6g} self {g['self']:.6g}, want {w[0]:.6g} / {w[1]:.6g}")
    if bad:
        fail(f"{label}: " + "; ".join(bad[:8]) + (f" (+{len(bad) - 8} more)" if len(bad) > 8 else ""))
    else:
        ok(f"{label}: {len(want)} functions, totals and self times match")


def match_all(label, lines, patterns):
    for p in patterns:
        if any(re.search(p, line) for line in lines):
            ok(f"{label}: reports /{p}/")
        else:
            fail(f"{label}: nothing matches /{p}/ in {lines[:5]}")


# ---- fixtures --------------------------------------------------------------------------------


def check_fixture(name, consumer, report_path):
    here = os.path.dirname(os.path.abspath(__file__))
    want = load(os.path.join(here, "fixtures", "expected.json"))[name][consumer]
    r = load(report_path)
    label = f"{consumer} on {name}"
    if consumer == "speedscope":
        if "importer" in want:
            (ok if r.get("importer") == want["importer"] else fail)(
                f"{label}: importer {r.get('importer')!r} (want {want['importer']!r})")
        if "warnings" in want:
            (ok if r["warnings"] == want["warnings"] else fail)(f"{label}: warnings {r['warnings']}")
        match_all(label, r["warnings"], want.get("warnings_match", []))
        if "profiles" in want:
            got = {p["name"]: p["frames"] for p in r["profiles"]}
            if sorted(got) != sorted(want["profiles"]):
                fail(f"{label}: profiles {sorted(got)}, want {sorted(want['profiles'])}")
            for pname, funcs in want["profiles"].items():
                if pname in got:
                    compare_functions(f"{label} [{pname}]", got[pname], funcs)
    elif consumer == "trace_engine":
        for key in ("phases", "flows_declared", "flows_unbound", "async_unpaired", "engine_messages", "async"):
            if key in want:
                (ok if r[key] == want[key] else fail)(f"{label}: {key} = {json.dumps(r[key])}"
                                                       + ("" if r[key] == want[key] else f", want {json.dumps(want[key])}"))
        if "flows" in want:
            got = [[[e["name"], e["pid"], e["tid"], e["ts"]] for e in f] for f in r["flows"]]
            (ok if got == want["flows"] else fail)(f"{label}: flows {got}")
        match_all(label, r["engine_messages"], want.get("engine_messages_match", []))
        threads = {f"{t['pid']}:{t['tid']}": t for t in r["threads"]}
        for key, wt in want.get("threads", {}).items():
            t = threads.get(key)
            if t is None:
                fail(f"{label}: no thread {key} (have {sorted(threads)})")
                continue
            for field in ("name", "process_name", "dropped", "entries_by_phase"):
                if field in wt:
                    (ok if t[field] == wt[field] else fail)(f"{label}: thread {key} {field} = {json.dumps(t[field])}")
            if "functions" in wt:
                compare_functions(f"{label} [thread {key}]", t["functions"], wt["functions"])
    elif consumer == "svg":
        for key in ("xml_valid", "width", "height", "frames", "png_width", "png_height", "errors"):
            if key in want:
                (ok if r.get(key) == want[key] else fail)(f"{label}: {key} = {json.dumps(r.get(key))}")
        match_all(label, r.get("errors", []), want.get("errors_match", []))
        if want.get("xml_valid") and not want.get("errors"):
            pass
    else:
        fail(f"unknown consumer {consumer}")


# ---- vitte exports ---------------------------------------------------------------------------

SPAN_TYPES = {"span", "zone", "scope", "complete", "x"}
ASYNC_BEGIN = {"async_begin", "async_start", "b"}
ASYNC_END = {"async_end", "e"}
FLOW_START = {"flow_start", "flow_begin", "s"}


def first(d, keys):
    for k in keys:
        if k in d and d[k] is not None:
            return k, d[k]
    return None, None


def read_events(path):
    """The events of `vitte inspect --format json`: a list, {"events": [...]} or JSON lines."""
    text = open(path, encoding="utf-8").read()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(doc, dict):
        for k in ("events", "traceEvents", "spans"):
            if isinstance(doc.get(k), list):
                return doc[k]
        raise ValueError(f"no event list in the JSON object (keys: {sorted(doc)[:12]})")
    return [e for e in doc if isinstance(e, dict)]


def event_type(e):
    _, t = first(e, ("type", "kind", "event", "ph"))
    return str(t).lower() if t is not None else ""


def spans_of(events):
    """[(pid, tid, name, start_ns, dur_ns, depth)] of the span events, and how they were read."""
    out, how = [], None
    for e in events:
        t = event_type(e)
        dk, dur = first(e, ("dur_ns", "duration_ns", "dur"))
        # A span by its type; an event with no type at all by its duration.
        if not (t in SPAN_TYPES or (t == "" and dur is not None)):
            continue
        sk, start = first(e, ("ts_ns", "start_ns", "begin_ns", "ts", "start"))
        if dur is None or start is None or "name" not in e:
            continue
        _, tid = first(e, ("tid", "thread_id", "thread"))
        _, pid = first(e, ("pid", "process_id", "stream"))
        how = how or f"type {t!r}, start {sk!r}, duration {dk!r} (read as ns)"
        _, depth = first(e, ("depth", "level"))
        out.append((pid, tid, e["name"], int(start), int(dur), int(depth or 0)))
    return out, how


def totals(spans):
    """{name: {total, self, count}} for one thread's spans (ns), speedscope's way:
    a recursive function's total counts its outermost call only."""
    res = {}
    stack = []  # (end, name) of the open spans
    for _, _, name, start, dur, _ in sorted(spans, key=lambda s: (s[3], -s[4], s[5])):
        end = start + dur
        while stack and start >= stack[-1][0]:
            stack.pop()
        r = res.setdefault(name, {"total": 0, "self": 0, "count": 0})
        r["count"] += 1
        r["self"] += dur
        if stack:
            res[stack[-1][1]]["self"] -= dur
        if not any(s[1] == name for s in stack):
            r["total"] += dur
        stack.append((end, name))
    return res


ARGS_SUFFIX = re.compile(r"^(.*?) (\{.*\})$")


def strip_args(frames):
    """speedscope names a frame "name {args json}": fold those back by name."""
    out, split = {}, set()
    for n, v in frames.items():
        m = ARGS_SUFFIX.match(n)
        if m:
            try:
                json.loads(m.group(2))
                n = m.group(1)
                split.add(n)
            except ValueError:
                pass
        o = out.setdefault(n, {"total": 0, "self": 0})
        o["total"] += v["total"]
        o["self"] += v["self"]
    return out, split


def pid_tid(profile_name):
    p = re.search(r"\bpid (\d+)", profile_name)
    t = re.search(r"\btid (\d+)", profile_name)
    return (int(p.group(1)) if p else None, int(t.group(1)) if t else None)


def check_vitte(a):
    events = read_events(a.events)
    spans, how = spans_of(events)
    if not spans:
        kinds = sorted({event_type(e) for e in events})
        fail(f"no spans found in {a.events} ({len(events)} events, types {kinds}; first: "
             f"{json.dumps(events[0])[:200] if events else 'none'})")
        return
    ok(f"inspect json: {len(spans)} spans on {len({(s[0], s[1]) for s in spans})} threads ({how})")
    by_thread = {}
    for s in spans:
        by_thread.setdefault((s[0], s[1]), []).append(s)
    want = {k: totals(v) for k, v in by_thread.items()}
    tids = {}
    for (pid, tid) in want:
        tids.setdefault(tid, []).append(pid)

    def want_for(pid, tid):
        if (pid, tid) in want:
            return want[(pid, tid)]
        if tid in tids and len(tids[tid]) == 1:  # the JSON may not carry pids
            return want[(tids[tid][0], tid)]
        return None

    def us(d):
        return {n: [v["total"] / 1000.0, v["self"] / 1000.0] for n, v in d.items()}

    def tol_us(d):
        # One rounding of a double per span is the most any reader adds.
        return lambda n: 1e-6 * (d.get(n, {"count": 0})["count"] + 1) + 1e-6

    if a.speedscope_chrome:
        r = load(a.speedscope_chrome)
        label = "speedscope (Chrome JSON)"
        (ok if r.get("importer") == "Trace Event Format profile" else fail)(f"{label}: importer {r.get('importer')!r}")
        (ok if not r["warnings"] else fail)(f"{label}: console warnings: {r['warnings'][:5]}")
        seen = set()
        for p in r["profiles"]:
            pid, tid = pid_tid(p["name"])
            w = want_for(pid, tid)
            if w is None:
                fail(f"{label}: profile {p['name']!r} matches no thread of the JSON export {sorted(want)}")
                continue
            seen.add(id(w))
            frames, split = strip_args(p["frames"])
            if split:
                print(f"note: {label}: args split {sorted(split)[:5]} into several frames (speedscope appends args)")
            compare_functions(f"{label} [{p['name']}] vs inspect json", frames, us(w), tol_us(w))
        missing = [k for k, v in want.items() if id(v) not in seen]
        (ok if not missing else fail)(f"{label}: a profile per thread with spans (missing {missing})")

    if a.speedscope_folded:
        r = load(a.speedscope_folded)
        label = "speedscope (folded)"
        (ok if r.get("importer") == "collapsed stack format" else fail)(f"{label}: importer {r.get('importer')!r}")
        (ok if not r["warnings"] else fail)(f"{label}: console warnings: {r['warnings'][:5]}")
        merged = {}
        for d in want.values():
            for n, v in d.items():
                m = merged.setdefault(n, [0, 0])
                m[0] += v["total"]
                m[1] += v["self"]
        got = {}
        for p in r["profiles"]:
            for n, v in p["frames"].items():
                g = got.setdefault(n, {"total": 0, "self": 0})
                g["total"] += v["total"]
                g["self"] += v["self"]
        # Per-thread root frames (--per-thread) are not spans: leave them out.
        extra = [n for n in got if n not in merged]
        if extra:
            print(f"note: {label}: frames that are not span names (thread roots?): {extra[:5]}")
        compare_functions(f"{label} vs inspect json (ns, merged threads)",
                          {n: v for n, v in got.items() if n in merged}, merged, 0)

    if a.trace_engine:
        r = load(a.trace_engine)
        label = "trace engine"
        (ok if r["ok"] else fail)(f"{label}: parsed ({r['events']} events, phases {r['phases']})")
        (ok if not r["engine_messages"] else fail)(f"{label}: engine messages {r['engine_messages'][:5]}")
        dropped = {f"{t['pid']}:{t['tid']}": t["dropped"] for t in r["threads"] if t["dropped"]}
        (ok if not dropped else fail)(f"{label}: slices left out of the call tree: {json.dumps(dropped)[:300]}")
        for t in r["threads"]:
            w = want_for(t["pid"], t["tid"])
            if w is None:
                if t["functions"]:
                    fail(f"{label}: thread {t['pid']}:{t['tid']} matches no thread of the JSON export")
                continue
            compare_functions(f"{label} [thread {t['pid']}:{t['tid']} {t['name']}] vs inspect json",
                              t["functions"], us(w), tol_us(w))
        n_instant = sum(1 for e in events if event_type(e) in ("instant", "i", "I"))
        te_instant = sum(t["entries_by_phase"].get("I", 0) + t["entries_by_phase"].get("i", 0) for t in r["threads"])
        (ok if te_instant == n_instant else fail)(
            f"{label}: {te_instant} of {n_instant} instants shown on their threads"
            + ("" if te_instant == n_instant else " (DevTools reads \"ph\":\"I\" only, not \"i\")"))
        n_flow = sum(1 for e in events if event_type(e) in FLOW_START)
        n_async = sum(1 for e in events if event_type(e) in ASYNC_BEGIN)
        (ok if r["flows_unbound"] == 0 and len(r["flows"]) == r["flows_declared"] else fail)(
            f"{label}: {len(r['flows'])} of {r['flows_declared']} flows bound to slices "
            f"(inspect json has {n_flow} flow starts)")
        if n_flow and r["flows_declared"] != n_flow:
            fail(f"{label}: {r['flows_declared']} flows in the Chrome export, {n_flow} in the JSON export")
        if n_flow == 0 and r["flows_declared"] == 0:
            print(f"note: {label}: the trace has no flows; nothing to link")
        (ok if r["async_unpaired"] == 0 else fail)(
            f"{label}: {len(r['async'])} async spans paired, {r['async_unpaired']} unpaired "
            f"(inspect json has {n_async} async begins)")
        if n_async and len(r["async"]) != n_async:
            fail(f"{label}: {len(r['async'])} async spans paired, {n_async} in the JSON export")

    if a.svg:
        r = load(a.svg)
        (ok if not r["errors"] and r["frames"] > 0 else fail)(
            f"svg: valid XML, {r['frames']} frames, rendered {r['png_width']}x{r['png_height']}, "
            f"{r['distinct_colors']} colours, {100 * r['nonbg_fraction']:.1f}% drawn; errors {r['errors']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fixture")
    f.add_argument("name")
    f.add_argument("consumer", choices=["speedscope", "trace_engine", "svg"])
    f.add_argument("report")
    v = sub.add_parser("vitte")
    v.add_argument("--events", required=True)
    v.add_argument("--speedscope-chrome")
    v.add_argument("--speedscope-folded")
    v.add_argument("--trace-engine")
    v.add_argument("--svg")
    a = ap.parse_args()
    try:
        if a.cmd == "fixture":
            check_fixture(a.name, a.consumer, a.report)
        else:
            check_vitte(a)
    except (OSError, ValueError, KeyError) as e:
        fail(f"{type(e).__name__}: {e}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
