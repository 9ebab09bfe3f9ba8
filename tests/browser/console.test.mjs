// The web console in a real browser: Debian's Chromium, headless, driven by
// puppeteer-core (pinned in package-lock.json, installed by
// scripts/install-deps.sh, never fetched here). Starts `relais serve` on a
// free port over a generated data set, then plays a coordinator (sign in,
// caseload, a household, a dwelling, the report, a form that records, a form
// that is refused, the live page while another client appends, log out) and
// a tenancy-staff session (no social or health datum in any response its
// browser receives). axe-core audits every page (no serious or critical
// violation); each page's screenshot goes to $RELAIS_SCREENSHOTS.
//
//   RELAIS_BIN=build/tools/relais node tests/browser/console.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const BIN = process.env.RELAIS_BIN;
const CHROMIUM = process.env.RELAIS_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.RELAIS_SCREENSHOTS || join(tmpdir(), 'relais-console-screenshots');

if (!existsSync(join(here, 'node_modules', 'puppeteer-core')) || !existsSync(CHROMIUM) || !BIN) {
  console.error('SKIPPED: console browser test needs RELAIS_BIN, ' + CHROMIUM +
    ' and tests/browser/node_modules (scripts/install-deps.sh installs them; CI has them)');
  process.exit(77);
}
const puppeteer = (await import('puppeteer-core')).default;
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const work = mkdtempSync(join(tmpdir(), 'relais-console-'));
const data = join(work, 'data');
let server, base, browser;
const tokens = {};
const figures = {};

function relais(...args) { return execFileSync(BIN, ['--data', data, ...args], { encoding: 'utf8' }); }
function token(name, role, extra = []) {
  return JSON.parse(relais('token', 'add', '--name', name, '--role', role, ...extra)).token;
}
async function bearer(who, path, { method = 'GET', body } = {}) {
  const r = await fetch(base + path, { method, headers: { Authorization: 'Bearer ' + tokens[who],
    'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* text */ }
  return { status: r.status, json, text };
}
function uuid(n) { return '00000000-0000-4000-8000-' + String(n).padStart(12, '0'); }

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const gen = join(work, 'gen.ndjson');
  execFileSync(BIN, ['generate', '--seed', '7', '--years', '2', '--out', gen]);
  relais('import', gen);
  tokens.admin = token('admin', 'admin');
  tokens.coord = token('coord', 'coordinator', ['--territory', 'lille']);
  tokens.staff = token('staff', 'tenancy_staff', ['--territory', 'lille']);
  server = spawn(BIN, ['--data', data, 'serve', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: server.stdout });
    rl.once('line', resolve);
    server.once('exit', (c) => reject(new Error('relais serve exited ' + c)));
  });
  base = 'http://' + JSON.parse(line).listening;
  browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true, userDataDir: join(work, 'profile'),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--lang=fr-FR'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  rmSync(work, { recursive: true, force: true });
  console.log('# figures ' + JSON.stringify(figures));
});

// axe-core on the page (and its same-origin frames): no serious or critical violation.
async function audit(page, name) {
  const frames = [page.mainFrame(), ...page.frames().filter((f) => f !== page.mainFrame() && f.url().startsWith(base))];
  for (const frame of frames) {
    await frame.evaluate(AXE);
    const result = await frame.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad.map((v) => v.id + ': ' + v.help + ' — ' + v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')), [],
      name + ' (' + frame.url() + ')');
  }
  await page.screenshot({ path: join(SHOTS, name + '.png'), fullPage: true });
}

// Navigates and waits for that page to be rendered (the console marks
// #main with the route it rendered): waiting for a selector alone could
// match the previous page, which under load was still shown.
async function goto(page, hash, selector) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction(() => {
    const m = document.getElementById('main');
    return m && m.dataset.route === (location.hash || '#/') && !m.hasAttribute('aria-busy');
  }, { timeout: 20000 });
  await page.waitForSelector(selector, { timeout: 20000 });
}

async function signIn(page, who) {
  await page.waitForSelector('#token');
  await page.type('#token', tokens[who]);
  await Promise.all([page.waitForSelector('#nav:not([hidden])', { timeout: 20000 }), page.click('#signin button[type=submit]')]);
}

test('a coordinator signs in, reads, records, is refused, follows the live page, logs out', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // The first page: bytes on the wire and time until the sign-in form works.
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  const t0 = Date.now();
  await page.goto(base + '/', { waitUntil: 'load' });
  await page.waitForSelector('#token');
  figures.firstPageInteractiveMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 300));
  figures.firstPageBytes = bytes;
  assert.ok(bytes <= 300 * 1024, 'first page ' + bytes + ' bytes');
  assert.equal(await page.$eval('html', (h) => h.lang), 'fr');
  await audit(page, '01-connexion');

  // A bad token is refused in French.
  await page.type('#token', 'rls_faux');
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('.msg.error');
  assert.match(await page.$eval('.msg.error', (n) => n.textContent), /inconnu ou a été révoqué/);
  await page.$eval('#token', (n) => { n.value = ''; });

  bytes = 0;
  const t1 = Date.now();
  await signIn(page, 'coord');
  await page.waitForSelector('table tbody tr');
  figures.caseloadAfterSignInMs = Date.now() - t1;
  figures.caseloadAfterSignInBytes = bytes;
  const cookies = await page.cookies();
  const sess = cookies.find((c) => c.name === 'relais_session');
  assert.ok(sess && sess.httpOnly && sess.sameSite === 'Strict' && sess.path === '/', JSON.stringify(sess));
  assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is not readable by scripts');

  await page.waitForSelector('table tbody tr');
  await audit(page, '02-menages-suivis');
  const first = await page.$eval('table tbody tr th a', (a) => a.getAttribute('href'));
  const household = decodeURIComponent(first.split('/').pop());

  await goto(page, '#/menage/' + encodeURIComponent(household), '#timeline');
  assert.match(await page.$eval('h1', (n) => n.textContent), new RegExp(household));
  const rows = await page.$$eval('#timeline tbody tr', (r) => r.length);
  assert.ok(rows > 0);
  await audit(page, '03-menage');
  // The pickers: as of the day the household was registered, known at then.
  const reg = (await bearer('admin', '/v1/streams/' + encodeURIComponent('household/' + household) + '/events')).json.events[0];
  await page.$eval('#asOf', (n, v) => { n.value = v; }, reg.effectiveDate);
  // (the picker has whole seconds: the second after the recording)
  const knownAt = new Date(Date.parse(reg.recordedAt) + 1000).toISOString().slice(0, 19);
  await page.$eval('#knownAt', (n, v) => { n.value = v; }, knownAt);
  await page.click('form.pickers button[type=submit]');
  await page.waitForFunction(() => /connues? au/.test(document.querySelector('h2').textContent));
  const rowsThen = await page.$$eval('#timeline tbody tr', (r) => r.length);
  assert.ok(rowsThen <= rows && rowsThen >= 1, rowsThen + ' of ' + rows);
  await audit(page, '04-menage-au-connu-au');
  // The timeline in recording order.
  await goto(page, '#/menage/' + encodeURIComponent(household) + '?ordre=enregistrement', '#timeline');

  // Corrections and retractions sit right below the event they change.
  const lille = (await bearer('coord', '/v1/caseload?limit=500')).json.households.map((h) => h.subject);
  let fixed = null;
  for (const subject of lille) {
    const events = (await bearer('coord', '/v1/streams/' + encodeURIComponent(subject) + '/events')).json.events;
    const fix = events.find((e) => e.type === 'EventCorrected' || e.type === 'EventRetracted');
    if (fix) { fixed = { subject, fix }; break; }
  }
  assert.ok(fixed, 'the generated data set holds a correction in Lille');
  await goto(page, '#/menage/' + encodeURIComponent(fixed.subject.split('/')[1]), '#timeline');
  const next = await page.$eval('#ev-' + fixed.fix.data.targetId, (tr) =>
    ({ cls: tr.nextElementSibling.className, text: tr.nextElementSibling.textContent, retracted: tr.className }));
  assert.equal(next.cls, 'fix');
  assert.match(next.text, fixed.fix.type === 'EventRetracted' ? /Annulation/ : /Correction/);
  if (fixed.fix.type === 'EventRetracted') assert.equal(next.retracted, 'retracted');
  await audit(page, '04b-menage-correction');

  // A form generated from the schema records an event.
  await goto(page, '#/saisie?subject=' + encodeURIComponent('household/' + household), '#event-type');
  await page.select('#event-type', 'ConsentRecorded');
  await page.waitForSelector('form[data-type=ConsentRecorded]');
  await page.select('form[data-type=ConsentRecorded] select[name=purpose]', 'keep_history');
  await page.click('form[data-type=ConsentRecorded] input[name=given]');
  await audit(page, '05-saisie');
  await page.click('form[data-type=ConsentRecorded] button[type=submit]');
  await page.waitForSelector('.msg.ok');
  const hist = (await bearer('admin', '/v1/streams/' + encodeURIComponent('household/' + household) + '/events')).json.events;
  const last = hist[hist.length - 1];
  assert.equal(last.type, 'ConsentRecorded');
  assert.deepEqual(last.data, { purpose: 'keep_history', given: true });
  assert.equal(last.actor.id, 'coord');

  // A refusal, in French, with its rule.
  await page.select('#event-type', 'ReferralDecided');
  await page.waitForSelector('form[data-type=ReferralDecided]');
  await page.type('form[data-type=ReferralDecided] input[name=referralId]', 'R-INCONNUE');
  await page.select('form[data-type=ReferralDecided] select[name=outcome]', 'accepted');
  await page.click('form[data-type=ReferralDecided] button[type=submit]');
  await page.waitForSelector('.msg.error');
  const refusal = await page.$eval('.msg.error', (n) => n.textContent);
  const schema = (await bearer('admin', '/v1/schema')).json;
  assert.ok(refusal.includes(schema.refusals.referral_not_open), refusal);
  assert.ok(refusal.includes('règle « referral_not_open »'), refusal);
  await audit(page, '06-saisie-refusee');

  // The search page opens a household by its number.
  await goto(page, '#/recherche', '#sid');
  await audit(page, '06b-ouvrir-un-dossier');
  await page.type('#sid', household);
  await page.click('form.card button[type=submit]');
  await page.waitForSelector('#timeline');

  // The dwelling page, from the caseload's first occupied dwelling.
  const caseload = (await bearer('coord', '/v1/caseload?limit=200')).json;
  const dwelling = caseload.households.find((h) => h.occupancy).occupancy.dwellingId;
  await goto(page, '#/logement/' + encodeURIComponent(dwelling), 'h2');
  await page.waitForFunction(() => document.querySelectorAll('table').length >= 2);
  await audit(page, '07-logement');

  await goto(page, '#/rapport', 'iframe.report');
  await page.waitForFunction(() => {
    const f = document.querySelector('iframe.report');
    return f.contentDocument && f.contentDocument.readyState === 'complete' && f.contentDocument.querySelector('table');
  }, { timeout: 30000 });
  await audit(page, '08-rapport');

  // The live page, while another client appends.
  await goto(page, '#/direct', '#live-status');
  await page.waitForFunction(() => /Connecté/.test(document.querySelector('#live-status').textContent), { timeout: 20000 });
  await new Promise((r) => setTimeout(r, 1500));  // past the head the page started from
  const appended = await bearer('admin', '/v1/events', { method: 'POST', body: {
    id: uuid(900001), type: 'StaffTrainingHeld', subject: 'territory/lille', effectiveDate: '2020-01-15',
    data: { topic: 'Formation au suivi en direct', attendees: 9 } } });
  assert.equal(appended.status, 201, appended.text);
  await page.waitForFunction((label) => document.querySelector('#live-list').textContent.includes(label),
    { timeout: 20000 }, schema.eventTypes.find((t) => t.type === 'StaffTrainingHeld').label);
  await audit(page, '09-en-direct');

  // Log out: the cookie goes and the API says so.
  await page.click('#logout');
  await page.waitForSelector('#token');
  assert.equal((await page.cookies()).find((c) => c.name === 'relais_session'), undefined);
  const after = await page.evaluate(async () => (await fetch('/v1/session')).status);
  assert.equal(after, 401);
  // The old cookie value is dead on the server too.
  const replay = await fetch(base + '/v1/session', { headers: { Cookie: 'relais_session=' + sess.value } });
  assert.equal(replay.status, 401);
  assert.deepEqual(errors, [], 'script errors');
  await page.close();
});

test('a tenancy-staff session never receives social or health data', async () => {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const schema = (await bearer('admin', '/v1/schema')).json;
  const hidden = schema.eventTypes.filter((t) => t.visibility !== 'management').map((t) => t.type);
  const bodies = [];
  page.on('response', async (r) => {
    const url = r.url();
    if (!url.startsWith(base + '/v1/') || url.includes('/v1/feed') || url.startsWith(base + '/v1/schema')) return;
    try { bodies.push([url, await r.text()]); } catch (e) { /* a redirect has no body */ }
  });
  await page.goto(base + '/console/');
  await signIn(page, 'staff');
  // A household of the territory with social events (the admin sees them).
  const caseload = (await bearer('admin', '/v1/caseload?territory=lille&limit=200')).json;
  const withSupport = caseload.households.filter((h) => h.episode).map((h) => h.subject.split('/')[1]);
  assert.ok(withSupport.length > 0);
  const target = withSupport[0];
  const full = (await bearer('admin', '/v1/streams/' + encodeURIComponent('household/' + target) + '/events')).json.events;
  assert.ok(full.some((e) => hidden.includes(e.type)), 'the household has social events');

  await goto(page, '#/menage/' + encodeURIComponent(target), '#timeline');
  await audit(page, '10-gestion-locative-menage');
  await goto(page, '#/dossiers?territory=lille', '.msg.error');  // the caseload is refused
  await audit(page, '11-gestion-locative-menages-refuses');
  const occupied = caseload.households.find((h) => h.occupancy);
  await goto(page, '#/logement/' + encodeURIComponent(occupied.occupancy.dwellingId), 'h2');
  await page.waitForFunction(() => document.querySelectorAll('table').length >= 2);
  await audit(page, '12-gestion-locative-logement');
  await goto(page, '#/direct', '#live-status');
  await page.waitForFunction(() => /Connecté/.test(document.querySelector('#live-status').textContent), { timeout: 20000 });
  await new Promise((r) => setTimeout(r, 1500));
  // Another client appends a social event, a health one, then a management
  // one: only the last reaches this page.
  const day = new Date().toISOString().slice(0, 10);
  const append = async (n, type, data) => {
    const r = await bearer('admin', '/v1/events', { method: 'POST', body: { id: uuid(n), type,
      subject: 'household/' + target, effectiveDate: day, data } });
    assert.equal(r.status, 201, r.text);
    return r.json.results[0].position;
  };
  const social = await append(900002, 'ConsentRecorded', { purpose: 'data_sharing', given: false });
  const health = await append(900003, 'DifficultyReported', { category: 'mental_health', severity: 2 });
  const shown = await append(900004, 'DifficultyReported', { category: 'neighbourhood', severity: 1 });
  await page.waitForSelector('#live-list li[data-position="' + shown + '"]', { timeout: 20000 });
  assert.equal(await page.$('#live-list li[data-position="' + social + '"]'), null);
  assert.equal(await page.$('#live-list li[data-position="' + health + '"]'), null);
  await audit(page, '13-gestion-locative-en-direct');

  assert.ok(bodies.length >= 4, bodies.map((b) => b[0]).join(' '));
  for (const [url, body] of bodies) {
    for (const type of hidden) assert.ok(!body.includes('"' + type + '"'), url + ' carries ' + type);
    for (const key of ['"episodes":[{', '"referrals":[{', '"consents":{', 'mental_health', '"notes"'])
      assert.ok(!body.includes(key), url + ' carries ' + key);
  }
  await context.close();
});
