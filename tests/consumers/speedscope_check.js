#!/usr/bin/env node
// Load a profile file into speedscope's own importer, running in headless
// Chromium, and print what speedscope made of it as JSON on stdout.
//
//   node speedscope_check.js PROFILE [--timeout-ms N] [--screenshot OUT.png]
//
// PROFILE is anything speedscope imports (Chrome trace JSON, folded stacks,
// pprof, ...).  The released speedscope (node_modules/speedscope/dist/release)
// is served from an http server bound to 127.0.0.1 on an ephemeral port, and
// opened in Debian's chromium through playwright-core as
//   http://127.0.0.1:PORT/index.html#profileURL=.../profile/NAME&view=sandwich
// i.e. the same route the speedscope CLI and its hosted page use.  The served
// bundle gets one change: where speedscope's loadProfile() hands the imported
// ProfileGroup to the app, it also keeps it in window.__vitteProfileGroup, so
// the numbers below are read from speedscope's own Profile/Frame objects (the
// ones its sandwich table shows), not parsed back from formatted text.
//
// Output (JSON):
//   ok             true when speedscope imported the file and showed it
//   importer       speedscope's "Importing as ..." console line, or null
//   name           the profile group name
//   profiles[]     {name, unit, total_weight, frames: {NAME: {total, self}}}
//                  unit is speedscope's weight unit ("microseconds" for
//                  Chrome JSON, "none" for folded stacks); total/self are
//                  what the sandwich table shows for each function
//   sandwich_rows  the sandwich table as rendered for the first profile
//                  ([total, self, name] strings), for human eyes
//   console[]      every console message {type, text} except speedscope's
//                  own banner and timing lines
//   warnings[]     the console lines that mean the data was not what
//                  speedscope expects (nesting problems, unrecognized
//                  format, load failure) plus console errors, page errors
//                  and dialogs (alert())
//   elapsed_ms     wall time of this check
// Exit status: 0 loaded (warnings may still be present: the caller asserts on
// them), 1 load failure (unrecognized/empty/error/timeout), 2 usage or setup
// error (missing chromium, speedscope or playwright-core).
//
// Environment: VITTE_CHROMIUM overrides the browser (default /usr/bin/chromium).
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

const t0 = Date.now();
const here = __dirname;

function usage(msg) {
  if (msg) process.stderr.write(`speedscope_check: ${msg}\n`);
  process.stderr.write('usage: speedscope_check.js PROFILE [--timeout-ms N] [--screenshot OUT.png]\n');
  process.exit(2);
}

let profilePath = null;
let timeoutMs = 20000;
let screenshot = null;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--timeout-ms') timeoutMs = Number(process.argv[++i]);
  else if (a === '--screenshot') screenshot = process.argv[++i];
  else if (a.startsWith('--')) usage(`unknown option ${a}`);
  else if (profilePath === null) profilePath = a;
  else usage('one profile at a time');
}
if (!profilePath) usage();
if (!(timeoutMs > 0)) usage('--timeout-ms needs a positive number');
let profileBytes;
try {
  profileBytes = fs.readFileSync(profilePath);
} catch (e) {
  usage(`cannot read ${profilePath}: ${e.message}`);
}

let chromium;
try {
  ({chromium} = require(path.join(here, 'node_modules', 'playwright-core')));
} catch (e) {
  usage(`playwright-core missing (run tests/consumers/setup.sh): ${e.message}`);
}
const releaseDir = path.join(here, 'node_modules', 'speedscope', 'dist', 'release');
const executablePath = process.env.VITTE_CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) usage(`no browser at ${executablePath} (apt-get install chromium)`);
if (!fs.existsSync(path.join(releaseDir, 'index.html'))) {
  usage(`no speedscope release at ${releaseDir} (run tests/consumers/setup.sh)`);
}

// The bundle named by index.html, with the hook added.  The match is on the
// code shape, not on minified names; if speedscope changes that code the
// check fails loudly here instead of silently reading nothing.
const indexHtml = fs.readFileSync(path.join(releaseDir, 'index.html'), 'utf8');
const bundleMatch = indexHtml.match(/<script src="(speedscope-[^"]+\.js)"/);
if (!bundleMatch) usage('cannot find the speedscope bundle in index.html');
const bundleName = bundleMatch[1];
const bundleSrc = fs.readFileSync(path.join(releaseDir, bundleName), 'utf8');
const hookRe = /console\.timeEnd\("import"\),this\.props\.setProfileGroup\((\w+)\)/;
if (!hookRe.test(bundleSrc)) usage(`speedscope bundle ${bundleName}: loadProfile() hook point not found`);
const patchedBundle = bundleSrc.replace(hookRe,
    'console.timeEnd("import"),window.__vitteProfileGroup=$1,this.props.setProfileGroup($1)');

const profileName = path.basename(profilePath);
const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css', '.json': 'application/json', '.png': 'image/png',
  '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.wasm': 'application/wasm',
  '.txt': 'text/plain',
};
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  let body = null;
  let type = 'application/octet-stream';
  if (url.pathname === '/profile/' + encodeURIComponent(profileName)) {
    body = profileBytes;
  } else if (url.pathname === '/' + bundleName) {
    body = patchedBundle;
    type = types['.js'];
  } else {
    const rel = path.normalize(decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname));
    const file = path.join(releaseDir, rel);
    if (file.startsWith(releaseDir + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile()) {
      body = fs.readFileSync(file);
      type = types[path.extname(file)] || type;
    }
  }
  if (body === null) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, {'Content-Type': type, 'Cache-Control': 'no-store'});
  res.end(body);
});

// Console lines that mean speedscope had to repair or could not read the data.
// (speedscope reports most of these with console.warn, a load failure with
// console.log("Failed to load format", e).)
const BAD = /Tried to end|still open|Unrecognized|Failed to|Ignoring|Unexpected|Unknown|Empty profile|Cannot load/i;
// Chromium's own chatter about software rendering, and speedscope's banner.
const NOISE = /WebGL|GL Driver|GPU stall|GroupMarkerNotSet|speedscope v\d|^import: [\d.]+ ?ms$|Automatic fallback to software/;

async function main() {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = server.address().port;
  const base = `http://127.0.0.1:${port}`;
  const result = {
    ok: false, file: profilePath, importer: null, name: null, profiles: [],
    sandwich_rows: [], console: [], warnings: [], elapsed_ms: 0,
  };
  let browser = null;
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  try {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      chromiumSandbox: false, // --no-sandbox: we run as root
      timeout: left(),
      // playwright-core gives each launch a fresh temporary --user-data-dir
      // and removes it on close.
      args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
        '--enable-unsafe-swiftshader'],
    });
    const page = await browser.newPage({viewport: {width: 1200, height: 800}});
    // Settled early when speedscope gives up: alert(), a failed import, a
    // page error.
    let giveUp;
    const gaveUp = new Promise((resolve) => (giveUp = resolve));
    page.on('console', (m) => {
      const text = m.text();
      if (NOISE.test(text)) return;
      result.console.push({type: m.type(), text});
      const imp = text.match(/^Importing as (.*)$/);
      if (imp && !result.importer) result.importer = imp[1];
      if (m.type() === 'error' || m.type() === 'warning' || BAD.test(text)) result.warnings.push(text);
      if (/^Failed to load format/.test(text)) giveUp();
    });
    page.on('pageerror', (e) => {
      result.warnings.push(`page error: ${e.message}`);
      giveUp();
    });
    page.on('dialog', (d) => {
      result.warnings.push(`dialog: ${d.message()}`);
      d.dismiss().catch(() => {});
      giveUp();
    });
    // Nothing but 127.0.0.1 is ever fetched.
    await page.route((u) => !u.href.startsWith(base + '/') && !u.href.startsWith('data:'), (r) => {
      result.warnings.push(`blocked request: ${r.request().url()}`);
      return r.abort();
    });
    const profileURL = `${base}/profile/${encodeURIComponent(profileName)}`;
    await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(profileURL)}&view=sandwich`,
        {timeout: left(), waitUntil: 'load'});
    // Done when the group is handed over, or speedscope gave up (dialog,
    // error).  speedscope returns without a word when it has no WebGL
    // canvas, so the timeout message says so.
    const loaded = await Promise.race([
      page.waitForFunction(() => window.__vitteProfileGroup ? 'loaded' : null, null,
          {timeout: left(), polling: 50}).then(() => true, () => false),
      gaveUp.then(() => false),
    ]);
    if (!loaded) {
      if (result.warnings.length === 0) {
        result.warnings.push(`timeout: speedscope did not finish importing in ${timeoutMs} ms ` +
            '(no importer line means it never started: is WebGL available?)');
      }
      return result;
    }
    const data = await page.evaluate(() => {
      const g = window.__vitteProfileGroup;
      const profiles = g.profiles.map((p) => {
        const frames = {};
        p.forEachFrame((f) => {
          // Two frames can share a name (different file/line); keep both.
          let key = f.name;
          for (let i = 2; key in frames; i++) key = `${f.name} #${i}`;
          if (f.getTotalWeight() === 0 && f.getSelfWeight() === 0) return;
          frames[key] = {total: f.getTotalWeight(), self: f.getSelfWeight()};
        });
        return {name: p.getName(), unit: p.getWeightUnit(), total_weight: p.getTotalWeight(), frames};
      });
      return {name: g.name, profiles};
    });
    result.name = data.name;
    result.profiles = data.profiles;
    // The rendered sandwich table (first profile): rows of Total | Self | Name.
    try {
      await page.waitForFunction(() => document.querySelectorAll('tr').length > 1, null,
          {timeout: Math.min(left(), 3000), polling: 50});
      result.sandwich_rows = await page.evaluate(() => [...document.querySelectorAll('tr')]
          .map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim()))
          .filter((r) => r.length >= 3 && /%\)$/.test(r[0]) && /%\)$/.test(r[1])));
    } catch (e) {
      result.warnings.push('sandwich table did not render');
    }
    if (screenshot) await page.screenshot({path: screenshot, timeout: left()});
    result.ok = result.profiles.length > 0 && result.importer !== null;
    return result;
  } catch (e) {
    result.warnings.push(`check failed: ${e.message.split('\n')[0]}`);
    return result;
  } finally {
    if (browser) await browser.close().catch(() => {});
    server.close();
    result.elapsed_ms = Date.now() - t0;
  }
}

// A hard stop in case the browser hangs in close().
const guard = setTimeout(() => {
  process.stderr.write('speedscope_check: hard timeout\n');
  process.exit(1);
}, timeoutMs + 10000);
guard.unref();

main().then((r) => {
  process.stdout.write(JSON.stringify(r, null, 1) + '\n');
  if (!r.ok) {
    process.stderr.write(`speedscope_check: ${profilePath}: load failed: ${r.warnings.join('; ') || 'no profile'}\n`);
  }
  process.exit(r.ok ? 0 : 1);
});
