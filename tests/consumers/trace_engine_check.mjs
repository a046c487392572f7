#!/usr/bin/env node
// Parse a Chrome Trace Event JSON file with Chrome DevTools' own trace engine
// (@paulirish/trace_engine, the Performance panel's model, run in node) and
// print what it recognized as JSON on stdout.
//
//   node trace_engine_check.mjs TRACE.json[.gz]
//
// Output (JSON):
//   ok               the engine parsed the file without throwing
//   events           number of events in the file
//   phases           {ph: count} of the events in the file
//   threads[]        per (pid, tid) that has slices in the engine's renderer
//                    model: {pid, tid, name, process_name, entries (count),
//                    entries_by_phase, max_depth, dropped: [names the engine
//                    left out of the call tree because they overlap their
//                    parent instead of nesting], functions: {NAME: {count,
//                    total, self}}} -- total counts a recursive function
//                    once (outermost call), self is the engine's selfTime;
//                    microseconds
//   flows[]          the flows the engine bound to slices: each an array of
//                    {name, cat, pid, tid, ts} of the slices it links
//   flows_declared   distinct flows started by "s" events in the file
//   flows_unbound    declared flows the engine could not bind to >= 2 slices
//                    (DevTools binds a flow event to the first slice with the
//                    same ts, pid, tid and cat, and drops it otherwise)
//   async[]          nestable async spans (b/n/e) paired by the engine's own
//                    pairing routine (Helpers.Trace.createMatchedSortedSynthetic
//                    Events, keyed on cat, id or id2, name -- the one its
//                    user-timing and animation tracks use): {cat, name, id,
//                    ts, dur, begin_tid, end_tid, instants}
//   async_unpaired   b/e events left without a partner
//   thread_names     {"pid:tid": name} from thread_name metadata as the
//                    engine read it; process_names likewise {"pid": name}
//   trace_bounds     {min, max, range} in microseconds
//   engine_warnings  the engine's own warnings (WarningsHandler), by kind
//   engine_messages  what the engine printed while parsing (console.log,
//                    warn, error), e.g. "Begin/End events mismatch at ..."
//   repaired         true when the file was a JSON array missing its closing
//                    "]" and was read the way Chrome reads such a stream
//   errors[]         exceptions (the file did not parse)
//   elapsed_ms
// Exit status: 0 parsed, 1 did not parse, 2 usage or setup error.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {fileURLToPath, pathToFileURL} from 'node:url';

const t0 = Date.now();
const here = path.dirname(fileURLToPath(import.meta.url));
const engineDir = path.join(here, 'node_modules', '@paulirish', 'trace_engine');

function die(code, msg) {
  process.stderr.write(`trace_engine_check: ${msg}\n`);
  process.exit(code);
}

const file = process.argv[2];
if (!file || process.argv.length > 3) die(2, 'usage: trace_engine_check.mjs TRACE.json[.gz]');
if (!fs.existsSync(path.join(engineDir, 'analyze-trace.mjs'))) {
  die(2, `no trace engine at ${engineDir} (run tests/consumers/setup.sh)`);
}
const {analyzeEvents} = await import(pathToFileURL(path.join(engineDir, 'analyze-trace.mjs')).href);
const Trace = await import(pathToFileURL(path.join(engineDir, 'models', 'trace', 'trace.js')).href);

const result = {
  ok: false, file, events: 0, phases: {}, threads: [], flows: [], flows_declared: 0, flows_unbound: 0,
  async: [], async_unpaired: 0, thread_names: {}, process_names: {}, trace_bounds: null,
  engine_warnings: {}, engine_messages: [], repaired: false, errors: [], elapsed_ms: 0,
};

function finish() {
  result.elapsed_ms = Date.now() - t0;
  process.stdout.write(JSON.stringify(result, null, 1) + '\n');
  if (!result.ok) process.stderr.write(`trace_engine_check: ${file}: ${result.errors.join('; ')}\n`);
  process.exit(result.ok ? 0 : 1);
}

// ---- read the file the way DevTools' loader does ---------------------------------
let events;
try {
  let buf = fs.readFileSync(file);
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  const text = buf.toString('utf8');
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // The JSON Array Format may lack its closing bracket (a stream cut short).
    const t = text.trimEnd().replace(/,$/, '');
    if (!t.startsWith('[')) throw e;
    json = JSON.parse(t + ']');
    result.repaired = true;
  }
  events = Array.isArray(json) ? json : json && json.traceEvents;
  if (!Array.isArray(events)) throw new Error('neither an array nor an object with a traceEvents array');
} catch (e) {
  result.errors.push(`read: ${e.message}`);
  finish();
}
result.events = events.length;
for (const e of events) {
  const ph = e && typeof e === 'object' ? String(e.ph) : typeof e;
  result.phases[ph] = (result.phases[ph] || 0) + 1;
}

// ---- the engine --------------------------------------------------------------------
// The engine reports some problems only on the console: keep them.
const saved = {log: console.log, warn: console.warn, error: console.error, info: console.info};
for (const k of Object.keys(saved)) {
  console[k] = (...args) => result.engine_messages.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
}
let data;
try {
  ({parsedTrace: {data}} = await analyzeEvents(events));
} catch (e) {
  result.errors.push(`engine: ${e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`);
} finally {
  Object.assign(console, saved);
}
if (!data) finish();

const micro = (x) => (x === undefined || x === null ? null : Number(x));
for (const [pid, ev] of data.Meta.processNames) result.process_names[pid] = ev.args && ev.args.name;
for (const [pid, threads] of data.Meta.threadsInProcess) {
  for (const [tid, ev] of threads) result.thread_names[`${pid}:${tid}`] = ev.args && ev.args.name;
}
const b = data.Meta.traceBounds;
if (b) result.trace_bounds = {min: micro(b.min), max: micro(b.max), range: micro(b.range)};

const entryToNode = data.Renderer.entryToNode;
for (const [pid, proc] of data.Renderer.processes) {
  for (const [tid, thread] of proc.threads) {
    const t = {
      pid, tid, name: thread.name, process_name: result.process_names[pid] ?? null,
      entries: thread.entries.length, entries_by_phase: {}, max_depth: 0, dropped: [], functions: {},
    };
    for (const e of thread.entries) {
      t.entries_by_phase[e.ph] = (t.entries_by_phase[e.ph] || 0) + 1;
      const node = entryToNode.get(e);
      if (!node) {
        t.dropped.push(`${e.name}@${e.ts}`);
        continue;
      }
      t.max_depth = Math.max(t.max_depth, node.depth + 1);
      if (e.ph === 'I' || e.ph === 'i') continue; // instants have no time
      const f = t.functions[e.name] ??= {count: 0, total: 0, self: 0};
      f.count++;
      f.self += Number(node.selfTime ?? e.dur ?? 0);
      let recursive = false;
      for (let p = node.parent; p; p = p.parent) {
        if (p.entry.name === e.name) {
          recursive = true;
          break;
        }
      }
      if (!recursive) f.total += Number(e.dur ?? 0);
    }
    result.threads.push(t);
  }
}

// ---- flows ---------------------------------------------------------------------------
const slice = (e) => ({name: e.name, cat: e.cat, pid: e.pid, tid: e.tid, ts: micro(e.ts)});
result.flows = data.Flows.flows.map((f) => f.map(slice));
const declared = new Set();
for (const e of events) {
  if (e && e.ph === 's') declared.add(`${e.cat}\u0000${e.name}\u0000${e.id ?? JSON.stringify(e.id2)}\u0000${e.ts}`);
}
result.flows_declared = declared.size;
result.flows_unbound = Math.max(0, declared.size - result.flows.length);

// ---- nestable async spans --------------------------------------------------------------
try {
  const asyncEvents = events.filter((e) => e && (e.ph === 'b' || e.ph === 'e' || e.ph === 'n'));
  Trace.Helpers.Trace.sortTraceEventsInPlace(asyncEvents);
  const pairs = Trace.Helpers.Trace.createMatchedSortedSyntheticEvents(asyncEvents);
  let paired = 0;
  for (const s of pairs) {
    const d = s.args.data;
    paired += 1 + (d.endEvent ? 1 : 0);
    result.async.push({
      cat: s.cat, name: s.name, id: Trace.Helpers.Trace.extractId(d.beginEvent), ts: micro(s.ts),
      dur: micro(s.dur), begin_tid: d.beginEvent.tid, end_tid: d.endEvent ? d.endEvent.tid : null,
      instants: d.instantEvents ? d.instantEvents.length : 0,
    });
  }
  result.async_unpaired = asyncEvents.filter((e) => e.ph !== 'n').length - paired;
} catch (e) {
  result.errors.push(`async pairing: ${e.message}`);
}

for (const [kind, evs] of data.Warnings.perWarning) result.engine_warnings[kind] = evs.length;

result.ok = result.errors.length === 0;
finish();
