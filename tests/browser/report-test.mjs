#!/usr/bin/env node
// Headless-browser test of the s3audit HTML report, in Debian's chromium driven by playwright-core:
//
//   node tests/browser/report-test.mjs REPORT.html OUT_DIR [--expect-hostile] [--perf]
//
// Opens the report from its file:// URL and checks that it renders (body[data-ready="true"]),
// loads nothing from the network, logs no error, and that the findings filters (severity,
// account, rule, framework) and the bucket search change the rows and the row count, each
// checked against the data embedded in the page. --expect-hostile: the example's hostile
// bucket tag `<img src=x onerror=alert(1)>` is shown as text, and nothing in the page ran it.
// --perf: one JSON line with the file size, the number of findings, the time to first render
// and the search latency (printed, never asserted: speed targets live in benchmarks).
// Screenshots go to OUT_DIR. Exit 0 when every check passed, 1 when one failed, 2 on usage.
//
// Set up by scripts/browser-setup (playwright-core in tests/browser/node_modules, Debian's
// chromium at /usr/bin/chromium); playwright never downloads a browser here.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const HOSTILE = '<img src=x onerror=alert(1)>';
const READY_TIMEOUT_MS = 60_000;
const UPDATE_TIMEOUT_MS = 15_000;
const CHROMIUM = process.env.S3AUDIT_CHROMIUM || '/usr/bin/chromium';

// ---------- arguments ----------
const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
const positional = args.filter((a) => !a.startsWith('--'));
for (const f of flags) {
  if (!['--expect-hostile', '--perf'].includes(f)) usage(`unknown option ${f}`);
}
if (positional.length !== 2) usage('expected REPORT.html and OUT_DIR');
const reportPath = resolve(positional[0]);
const outDir = resolve(positional[1]);
const expectHostile = flags.has('--expect-hostile');
const perf = flags.has('--perf');

function usage(why) {
  console.error(`report-test: ${why}\nusage: node tests/browser/report-test.mjs REPORT.html OUT_DIR [--expect-hostile] [--perf]`);
  process.exit(2);
}

// ---------- reporting ----------
const failures = [];
function ok(name, detail) { console.log(`ok    ${name}${detail ? ': ' + detail : ''}`); }
function fail(name, detail) { failures.push(`${name}: ${detail}`); console.log(`FAIL  ${name}: ${detail}`); }
function check(name, cond, detail, failDetail) { cond ? ok(name, detail) : fail(name, failDetail || detail); return cond; }
// A step that throws is one failed check; the remaining checks still run.
async function step(name, fn) {
  try { await fn(); } catch (e) { fail(name, String(e && e.stack || e).split('\n').slice(0, 4).join(' | ')); }
}

// ---------- the data the page was rendered from ----------
let html;
try { html = readFileSync(reportPath, 'utf8'); } catch (e) { usage(`cannot read ${reportPath}: ${e.message}`); }
const fileBytes = statSync(reportPath).size;
mkdirSync(outDir, { recursive: true });

// The report embeds its data as one JSON document in <script type="application/json">; the Rust
// side escapes < > & inside it, so the first </script> after it is its end.
let DATA = null;
{
  const m = html.match(/<script\b[^>]*type="application\/json"[^>]*>([\s\S]*?)<\/script>/i);
  try { DATA = m ? JSON.parse(m[1]) : null; } catch { DATA = null; }
}
const FINDINGS = Array.isArray(DATA?.results?.findings) ? DATA.results.findings : null;

// Framework id → set of rule ids: from each rule's mappings ("aws-fsbp:S3.8") and from the
// frameworks' requirement lists.
function frameworkRules() {
  const out = {};
  const add = (fw, rid) => { if (fw && rid) (out[fw] ??= new Set()).add(rid); };
  for (const [rid, r] of Object.entries(DATA?.rules || {})) for (const m of r?.mappings || []) add(String(m).split(':')[0], rid);
  for (const r of DATA?.results?.rules || []) for (const m of r?.mappings || []) add(String(m).split(':')[0], r.id);
  for (const f of DATA?.results?.frameworks || []) for (const q of f.requirements || []) for (const rid of q.rules || []) add(f.id, rid);
  return out;
}
const FW_RULES = frameworkRules();

// How each filter selects findings, for the expected counts, and what a row of it shows.
const FILTERS = [
  { id: '#filter-severity', name: 'severity', attr: 'data-severity', pick: (f, v) => f.severity === v },
  { id: '#filter-account', name: 'account', attr: 'data-account', pick: (f, v) => f.resource?.account_id === v },
  { id: '#filter-rule', name: 'rule', attr: 'data-rule', pick: (f, v) => f.rule_id === v },
  { id: '#filter-framework', name: 'framework', attr: 'data-rule', pick: (f, v) => !!FW_RULES[v]?.has(f.rule_id),
    rowOk: (v) => (attr) => !!FW_RULES[v]?.has(attr) },
];

// ---------- page helpers (run in the page) ----------
const ROWS = '#findings-table tbody tr';

async function tableState(page) {
  return page.evaluate((sel) => {
    const rc = document.querySelector('#row-count');
    const text = rc ? rc.textContent.trim() : null;
    // "showing 1,234 of 50,000": drop thousands separators, then first and last numbers.
    const nums = text ? (text.replace(/(\d)[,\u00a0\u202f'](?=\d{3}(\D|$))/g, '$1').match(/\d+/g) || []).map(Number) : [];
    const attrN = (k) => (rc && rc.hasAttribute(k) ? Number(rc.getAttribute(k)) : null);
    const rows = Array.from(document.querySelectorAll(sel)).filter((tr) => tr.getClientRects().length > 0);
    return {
      text,
      matching: attrN('data-matching') ?? (nums.length ? nums[0] : null),
      total: attrN('data-total') ?? (nums.length ? nums[nums.length - 1] : null),
      rows: rows.length,
      sig: rows.slice(0, 50).map((tr) => tr.getAttribute('data-index') ?? tr.innerText).join('\u0001'),
    };
  }, ROWS);
}

// Waits until #row-count differs from `before` (the filters and the search may be debounced);
// false when it did not within UPDATE_TIMEOUT_MS.
async function waitCountChange(page, before) {
  return page.waitForFunction((b) => {
    const rc = document.querySelector('#row-count');
    return rc && rc.textContent.trim() !== b;
  }, before, { timeout: UPDATE_TIMEOUT_MS }).then(() => true, () => false);
}
const STUCK = `#row-count did not change within ${UPDATE_TIMEOUT_MS / 1000} s`;

// Every visible row: its filter attributes and its text.
async function visibleRows(page) {
  return page.evaluate((sel) => Array.from(document.querySelectorAll(sel)).filter((tr) => tr.getClientRects().length > 0)
    .map((tr) => ({
      index: tr.getAttribute('data-index'),
      severity: tr.getAttribute('data-severity'),
      account: tr.getAttribute('data-account'),
      rule: tr.getAttribute('data-rule'),
      text: tr.innerText,
    })), ROWS);
}

// ---------- the run ----------
const { chromium } = await import('playwright-core').catch((e) => {
  console.error(`report-test: playwright-core is missing (${e.message}); run scripts/browser-setup`);
  process.exit(2);
});

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const url = pathToFileURL(reportPath).href;
const netViolations = new Set(), consoleErrors = [], pageErrors = [], dialogs = [];
const perfOut = { file_bytes: fileBytes, findings: FINDINGS ? FINDINGS.length : null };

// Every page is watched the same way: a request to anything but file: or data: is recorded and
// aborted (nothing leaves the machine even when the page misbehaves), errors and dialogs too.
async function newPage(contextOptions, label) {
  const context = await browser.newContext({ ...contextOptions, serviceWorkers: 'block' });
  await context.route((u) => !/^(file|data):/i.test(u.href), (route) => {
    netViolations.add(`${label}: ${route.request().method()} ${route.request().url()}`);
    return route.abort('blockedbyclient');
  });
  // Records when body[data-ready] is set, as a performance mark (no global is defined).
  await context.addInitScript(() => {
    const mo = new MutationObserver(() => {
      if (document.body && document.body.dataset.ready) {
        performance.mark('report-test:ready');
        mo.disconnect();
      }
    });
    mo.observe(document, { subtree: true, attributes: true, attributeFilter: ['data-ready'] });
  });
  const page = await context.newPage();
  page.on('request', (r) => { if (!/^(file|data):/i.test(r.url())) netViolations.add(`${label}: ${r.method()} ${r.url()}`); });
  page.on('websocket', (ws) => netViolations.add(`${label}: websocket ${ws.url()}`));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${label}: ${m.text()}`); });
  page.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
  page.on('dialog', (d) => { dialogs.push(`${label}: ${d.type()} "${d.message()}"`); d.dismiss().catch(() => {}); });
  return { context, page };
}

// Loads the report and waits for data-ready; returns timings.
async function load(page) {
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'commit', timeout: READY_TIMEOUT_MS });
  await page.waitForFunction(() => document.body && document.body.dataset.ready, null, { timeout: READY_TIMEOUT_MS, polling: 50 });
  const wall = Date.now() - t0;
  const t = await page.evaluate(() => {
    const mark = performance.getEntriesByName('report-test:ready')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return {
      ready: document.body.dataset.ready,
      readyMs: mark ? Math.round(mark.startTime) : null,
      scriptMs: document.body.dataset.renderMs ? Number(document.body.dataset.renderMs) : null,
      fcpMs: fcp ? Math.round(fcp.startTime) : null,
    };
  });
  return { wall, ...t };
}

let desktop;
try {
  desktop = await newPage({ viewport: { width: 1280, height: 900 } }, 'desktop');
  const page = desktop.page;

  // 1. Render.
  const t = await load(page).catch((e) => { fail('data-ready', `body[data-ready] was not set within ${READY_TIMEOUT_MS / 1000} s (${e.message.split('\n')[0]})`); return null; });
  if (!t) throw new Error('the page did not render; no further check is possible');
  if (!check('data-ready', t.ready === 'true', `body[data-ready]="true" after ${t.readyMs ?? t.wall} ms from navigation start`,
    `body[data-ready]="${t.ready}" (expected "true")`)) throw new Error('the page did not render its data');
  perfOut.first_render_ms = t.readyMs ?? t.wall;
  perfOut.script_ms = t.scriptMs;
  perfOut.first_contentful_paint_ms = t.fcpMs;
  perfOut.wall_to_ready_ms = t.wall;
  const scriptCount = await page.evaluate(() => document.scripts.length);

  // 2. The unfiltered table.
  const base = await tableState(page);
  check('data embedded', !!FINDINGS, FINDINGS ? `${FINDINGS.length} findings in the page's JSON data` : '',
    'no <script type="application/json"> with results.findings could be parsed from the report');
  check('row count', base.text !== null && base.total !== null && (!FINDINGS || base.total === FINDINGS.length) && base.matching === base.total,
    `#row-count "${base.text}"`, `#row-count is "${base.text}" (matching ${base.matching}, total ${base.total}; expected ${FINDINGS?.length} of ${FINDINGS?.length})`);
  check('rows', base.rows > 0 || base.total === 0, `${base.rows} rows displayed of ${base.total}`, `no visible row in ${ROWS}`);
  // The rows' data-index, when every displayed row's data-rule and data-severity agree with the
  // finding at that index, tells which findings are on screen.
  const baseRows = await visibleRows(page);
  const baseIdx = FINDINGS && baseRows.length && baseRows.every((r) => {
    const f = FINDINGS[Number(r.index)];
    return r.index !== null && f && f.rule_id === r.rule && f.severity === r.severity;
  }) ? baseRows.map((r) => Number(r.index)) : null;

  // 3. Each filter: pick the option with the fewest findings, so the change shows even when the
  //    table only displays its first rows; compare with the data; then clear it.
  for (const flt of FILTERS) {
    await step(`filter ${flt.name}`, async () => {
      if (!(await page.$(flt.id))) { fail(`filter ${flt.name}`, `${flt.id} is missing`); return; }
      const options = await page.$$eval(`${flt.id} option`, (os) => os.map((o) => o.value).filter((v) => v !== ''));
      if (!options.length) { fail(`filter ${flt.name}`, `${flt.id} has no option besides "all"`); return; }
      const candidates = options.map((v, k) => ({ v, k, n: FINDINGS ? FINDINGS.filter((f) => flt.pick(f, v)).length : null }));
      const useful = candidates.filter((c) => c.n === null || (c.n > 0 && c.n < base.total));
      if (!useful.length) { fail(`filter ${flt.name}`, `no option of ${flt.id} selects a proper subset of the ${base.total} findings (${candidates.map((c) => `${c.v}=${c.n}`).join(', ')})`); return; }
      // Prefer an option that removes a displayed row (a table that displays only its first rows
      // may otherwise show the same rows), then the fewest findings.
      for (const c of useful) c.hides = baseIdx ? baseIdx.some((i) => !flt.pick(FINDINGS[i], c.v)) : base.rows === base.total;
      useful.sort((a, b) => b.hides - a.hides || (a.n ?? 0) - (b.n ?? 0) || b.k - a.k);
      const { v, n: expected, hides } = useful[0];
      const t0 = Date.now();
      await page.selectOption(flt.id, v);
      const changed = await waitCountChange(page, base.text);
      const ms = Date.now() - t0;
      const st = await tableState(page);
      const rows = await visibleRows(page);
      const rowOk = flt.rowOk ? flt.rowOk(v) : (a) => a === v;
      const bad = rows.filter((r) => (r[flt.attr.slice(5)] !== null ? !rowOk(r[flt.attr.slice(5)]) : (flt.name === 'framework' ? false : !r.text.includes(v))));
      const problems = changed ? [] : [`${STUCK} of selecting ${v}`];
      if (expected !== null && st.matching !== expected) problems.push(`#row-count says ${st.matching} matching, the data has ${expected}`);
      if (st.total !== base.total) problems.push(`#row-count total changed from ${base.total} to ${st.total}`);
      if (st.rows === 0) problems.push('no row is visible');
      if (st.rows > st.matching) problems.push(`${st.rows} rows visible but only ${st.matching} match`);
      if (st.rows < Math.min(st.matching, base.rows)) problems.push(`only ${st.rows} rows visible of ${st.matching} matching (before: ${base.rows} of ${base.total})`);
      if (hides && st.sig === base.sig && st.rows === base.rows) problems.push('the visible rows did not change');
      if (bad.length) problems.push(`${bad.length} visible rows do not match ${flt.name}=${v}, e.g. ${JSON.stringify(bad[0]).slice(0, 200)}`);
      check(`filter ${flt.name}`, !problems.length, `${v} → "${st.text}", ${st.rows} rows, all matching (${ms} ms)`, `${v}: ${problems.join('; ')}`);
      if (flt.name === 'severity') perfOut.filter_ms = ms;
      await page.selectOption(flt.id, '');
      if (changed) await waitCountChange(page, st.text);
      const back = await tableState(page);
      check(`filter ${flt.name} cleared`, back.matching === base.total && back.rows === base.rows, `"${back.text}", ${back.rows} rows`,
        `after clearing: "${back.text}", ${back.rows} rows (expected ${base.total} matching, ${base.rows} rows)`);
    });
  }

  // 4. Search: a bucket name narrows the rows to rows showing it; clearing restores them.
  await step('search', async () => {
    if (!(await page.$('#search'))) { fail('search', '#search is missing'); return; }
    const counts = {};
    for (const f of FINDINGS || []) if (f.resource?.kind !== 'account' && f.resource?.name) counts[f.resource.name] = (counts[f.resource.name] || 0) + 1;
    // The bucket with the most findings whose name does not match every finding.
    const lower = (s) => String(s).toLowerCase();
    const ranked = Object.keys(counts).sort((a, b) => counts[b] - counts[a] || (a < b ? -1 : 1));
    let name = null, matches = 0;
    for (const candidate of ranked) {
      matches = FINDINGS.filter((f) => lower(f.resource?.name || '').includes(lower(candidate))).length;
      if (matches < base.total) { name = candidate; break; }
    }
    if (name === null) { fail('search', 'no bucket name in the data to search for'); return; }
    const t0 = Date.now();
    await page.locator('#search').pressSequentially(name);
    // Typing may show intermediate results (debounce): wait for the final state, or time out
    // and report what is there.
    await page.waitForFunction(({ n, total, sel }) => {
      const rc = document.querySelector('#row-count');
      const nums = (rc.textContent.replace(/(\d)[,\u00a0\u202f'](?=\d{3}(\D|$))/g, '$1').match(/\d+/g) || []).map(Number);
      const rows = Array.from(document.querySelectorAll(sel)).filter((tr) => tr.getClientRects().length > 0);
      return nums.length && nums[0] < total && rows.length > 0 && rows.every((tr) => tr.innerText.toLowerCase().includes(n));
    }, { n: lower(name), total: base.total, sel: ROWS }, { timeout: UPDATE_TIMEOUT_MS, polling: 10 }).catch(() => {});
    const ms = Date.now() - t0;
    const st = await tableState(page);
    const rows = await visibleRows(page);
    const bad = rows.filter((r) => !lower(r.text).includes(lower(name)));
    const problems = [];
    if (st.matching >= base.total) problems.push(`the search did not narrow: "${st.text}"`);
    if (st.matching < matches) problems.push(`#row-count says ${st.matching} matching, but ${matches} findings are on buckets whose name contains "${name}"`);
    if (st.rows === 0) problems.push('no row is visible');
    if (st.rows < Math.min(st.matching, base.rows)) problems.push(`only ${st.rows} rows visible of ${st.matching} matching`);
    if (bad.length) problems.push(`${bad.length} visible rows do not contain "${name}", e.g. ${JSON.stringify(bad[0].text).slice(0, 200)}`);
    check('search', !problems.length, `"${name}" → "${st.text}", ${st.rows} rows, all containing it (typed, ${ms} ms)`, problems.join('; '));
    await page.fill('#search', '');
    if (st.text !== base.text) await waitCountChange(page, st.text);
    const back = await tableState(page);
    check('search cleared', back.matching === base.total && back.rows === base.rows, `"${back.text}", ${back.rows} rows`,
      `after clearing: "${back.text}", ${back.rows} rows (expected ${base.total} matching, ${base.rows} rows)`);

    if (perf) {
      // Latency from one input event to the updated row count, and to the next frame after it
      // (the page's debounce included). Measured in the page.
      const lat = await page.evaluate(async ({ term, timeout }) => {
        const input = document.querySelector('#search'), rc = document.querySelector('#row-count');
        const before = rc.textContent;
        const t0 = performance.now();
        input.value = term;
        input.dispatchEvent(new Event('input', { bubbles: true }));
        const updated = await new Promise((res, rej) => {
          const mo = new MutationObserver(() => { if (rc.textContent !== before) { mo.disconnect(); res(performance.now() - t0); } });
          mo.observe(rc, { childList: true, characterData: true, subtree: true, attributes: true });
          setTimeout(() => { mo.disconnect(); rej(new Error(`#row-count did not change within ${timeout} ms`)); }, timeout);
        });
        await new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
        return { updated: Math.round(updated), painted: Math.round(performance.now() - t0) };
      }, { term: name, timeout: UPDATE_TIMEOUT_MS });
      perfOut.search_ms = lat.updated;
      perfOut.search_painted_ms = lat.painted;
      ok('search latency', `one input event → row count updated in ${lat.updated} ms, next frame at ${lat.painted} ms (debounce included; not asserted)`);
      const st2 = await tableState(page);
      await page.fill('#search', '');
      await waitCountChange(page, st2.text);
    }
  });

  // 5. The hostile tag: shown as text in the finding's evidence, never run.
  if (expectHostile) {
    await step('hostile value', async () => {
      check('hostile value escaped in the file', !html.includes(HOSTILE),
        'the file never contains it as markup (it is \\u003c-escaped inside the JSON data)', `the file contains ${HOSTILE} literally`);
      // Which resource carries it: in its evidence, or in its name.
      let arn = null;
      for (const [a, ev] of Object.entries(DATA?.evidence || {})) if (JSON.stringify(ev).includes(HOSTILE)) { arn = a; break; }
      const finding = (FINDINGS || []).find((f) => (arn ? f.resource?.arn === arn : String(f.resource?.name || '').includes(HOSTILE)));
      if (!finding) { fail('hostile value', `the report data has no finding on a resource carrying ${HOSTILE}`); return; }
      // Search its name to bring its findings on screen, then open the first one.
      await page.fill('#search', finding.resource.name);
      const found = await page.waitForFunction((n) => {
        const rows = Array.from(document.querySelectorAll('#findings-table tbody tr')).filter((tr) => tr.getClientRects().length > 0);
        return rows.length > 0 && rows.every((tr) => tr.innerText.includes(n));
      }, finding.resource.name, { timeout: UPDATE_TIMEOUT_MS }).then(() => true, () => false);
      if (!found) { fail('hostile value shown as text', `searching "${finding.resource.name}" did not list only its findings, so its detail could not be opened`); return; }
      await page.locator(ROWS).first().click();
      // Open what the detail folds away (e.g. "Other sections read on this resource"), as a reader would.
      const panel = (await page.$('#finding-detail')) ? '#finding-detail' : 'body';
      await page.waitForTimeout(100);
      for (const summary of await page.$$(`${panel} details:not([open]) > summary`)) await summary.click().catch(() => {});
      const shown = await page.waitForFunction((h) => document.body.innerText.includes(h), HOSTILE, { timeout: 5000 }).then(() => true, () => false);
      const where = await page.evaluate((h) => {
        const hits = Array.from(document.querySelectorAll('body *')).filter((e) => e.children.length === 0 && e.textContent.includes(h) && e.getClientRects().length);
        if (hits[0]) hits[0].scrollIntoView({ block: 'center' }); // for the screenshot
        return hits.map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '')
          + ' in ' + (e.closest('[id]') ? '#' + e.closest('[id]').id : 'body'));
      }, HOSTILE);
      check('hostile value shown as text', shown, `${HOSTILE} is in the page text after opening the finding on ${finding.resource.name} (${where[0] || '?'})`,
        `after opening the finding on ${finding.resource.name} (arn ${finding.resource.arn}), document.body.innerText does not contain ${HOSTILE}`);
      await page.screenshot({ path: join(outDir, 'report-detail.png') });
      ok('screenshot', join(outDir, 'report-detail.png') + ' (finding with the hostile tag open)');
      await page.waitForTimeout(500); // an onerror handler would have fired by now
    });
  } else {
    await step('finding detail', async () => {
      await page.locator(ROWS).first().click();
      await page.waitForFunction(() => {
        const d = document.querySelector('#finding-detail');
        return d ? !d.hidden && d.innerText.trim().length > 0 : document.querySelector('[aria-selected="true"]');
      }, null, { timeout: 5000 }).catch(() => {});
      await page.screenshot({ path: join(outDir, 'report-detail.png') });
      ok('screenshot', join(outDir, 'report-detail.png') + ' (first finding open)');
    });
  }
  await step('nothing injected', async () => {
    const s = await page.evaluate(() => ({
      xss: typeof window.__s3audit_xss,
      onerror: document.querySelectorAll('[onerror]').length,
      handlers: Array.from(document.querySelectorAll('*')).flatMap((e) => Array.from(e.attributes).filter((a) => /^on/i.test(a.name))
        .map((a) => `<${e.tagName.toLowerCase()} ${a.name}>`)).slice(0, 5),
      imgs: document.querySelectorAll('img').length,
      scripts: document.scripts.length,
    }));
    if (expectHostile) {
      check('no onerror attribute', s.onerror === 0, 'no element has an onerror attribute', `${s.onerror} elements have an onerror attribute`);
      check('window.__s3audit_xss', s.xss === 'undefined', 'stays undefined', `is ${s.xss}`);
    }
    check('no inline handler', s.handlers.length === 0, 'no element has an on* attribute', `elements with on* attributes: ${s.handlers.join(', ')}`);
    // An element marked hidden must not show: author CSS such as `.x { display: flex }`
    // overrides the hidden attribute unless the page has `[hidden] { display: none }`.
    const shownHidden = await page.evaluate(() => Array.from(document.querySelectorAll('[hidden]'))
      .filter((e) => e.getClientRects().length > 0 && !e.closest('details:not([open])'))
      .map((e) => `<${e.tagName.toLowerCase()}${e.id ? ' id="' + e.id + '"' : ''}${e.className && typeof e.className === 'string' ? ' class="' + e.className + '"' : ''}> (display: ${getComputedStyle(e).display})`));
    check('hidden stays hidden', shownHidden.length === 0, 'no element with the hidden attribute is displayed',
      `elements with the hidden attribute are displayed: ${shownHidden.join(', ')}`);
    check('no script added', s.scripts === scriptCount, `${s.scripts} script elements, as at load`, `${scriptCount} script elements at load, ${s.scripts} now`);
  });

  // 6. Screenshots: desktop full page (closed detail), then phone.
  await step('screenshot desktop', async () => {
    await page.keyboard.press('Escape');
    if (await page.$eval('#search', (e) => e.value !== '').catch(() => false)) {
      const before = (await tableState(page)).text;
      await page.fill('#search', '');
      await waitCountChange(page, before);
    }
    await page.evaluate(() => window.scrollTo(0, 0));
    const p = join(outDir, 'report-desktop.png');
    await page.screenshot({ path: p, fullPage: true });
    ok('screenshot', `${p} (1280×900, full page)`);
  });

  {
    const phone = await newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }, 'phone');
    await step('phone', async () => {
      const pt = await load(phone.page);
      check('phone data-ready', pt.ready === 'true', `body[data-ready]="true" after ${pt.readyMs ?? pt.wall} ms`, `body[data-ready]="${pt.ready}"`);
      const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
      check('phone width', width <= 390, `the page is ${width} px wide: no horizontal scrolling`, `the page is ${width} px wide on a 390 px screen (horizontal scrolling)`);
      let p = join(outDir, 'report-phone.png');
      await phone.page.screenshot({ path: p });
      ok('screenshot', `${p} (390×844 @2x, top of the page)`);
      const findings = await phone.page.$('#findings');
      if (findings) {
        await findings.evaluate((e) => e.scrollIntoView());
        p = join(outDir, 'report-phone-findings.png');
        await phone.page.screenshot({ path: p });
        ok('screenshot', `${p} (390×844 @2x, the findings)`);
      }
      await phone.page.locator(ROWS).first().tap();
      await phone.page.waitForTimeout(300);
      p = join(outDir, 'report-phone-detail.png');
      await phone.page.screenshot({ path: p });
      ok('screenshot', `${p} (390×844 @2x, a finding open)`);
    });
    await phone.context.close();
  }
} catch (e) {
  fail('run', String(e && e.message || e).split('\n')[0]);
} finally {
  // Network, console and dialogs are judged over everything both pages did.
  check('network', netViolations.size === 0, 'no request other than file: and data:',
    `${netViolations.size} requests (aborted): ${[...netViolations].slice(0, 5).join('; ')}`);
  check('console', consoleErrors.length === 0 && pageErrors.length === 0, 'no console error, no uncaught exception',
    [...pageErrors.map((e) => 'uncaught: ' + e), ...consoleErrors].slice(0, 5).join('; '));
  check('dialogs', dialogs.length === 0, 'no dialog opened', dialogs.slice(0, 5).join('; '));
  await browser.close().catch(() => {});
}

if (perf) console.log(JSON.stringify(perfOut));
if (failures.length) {
  console.log(`\n${failures.length} check(s) failed for ${reportPath}:`);
  for (const f of failures) console.log(`  - ${f}`);
  process.exit(1);
}
console.log(`all checks passed for ${reportPath}`);
