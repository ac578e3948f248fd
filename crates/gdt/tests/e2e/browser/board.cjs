// The board in a real browser: Debian's Chromium driven headless by playwright-core, against a
// `gdt serve` the Rust test (e2e/board.rs) started and filled with deployments.
//
// Input (environment): GDT_BOARD_URL (the server's base URL), GDT_VIEWER_TOKEN (signs in),
// GDT_API_TOKEN (posts the status the page must pick up), GDT_EXPECT (JSON: the lanes the grid
// must show, the lane to open, the lane to update), GDT_SCREENSHOTS (a directory),
// GDT_PLAYWRIGHT (playwright-core's directory), GDT_CHROMIUM (the browser; /usr/bin/chromium).
// Output: one JSON line on stdout with the versions and timings; any failure exits non-zero
// with what was expected and what the page showed.
'use strict';

const path = require('path');

const { chromium } = require(process.env.GDT_PLAYWRIGHT);
const base = process.env.GDT_BOARD_URL;
const expect = JSON.parse(process.env.GDT_EXPECT);
const shots = process.env.GDT_SCREENSHOTS;

function check(condition, what, shown) {
  if (!condition) {
    throw new Error(`${what}${shown === undefined ? '' : `; the page shows: ${JSON.stringify(shown)}`}`);
  }
}

const keyOf = (lane) => `${lane.repository}\u001f${lane.service ?? ''}\u001f${lane.environment}`;

// The text of the cell of `lane`, or null.
function cellText(page, lane) {
  return page.evaluate((key) => {
    const button = [...document.querySelectorAll('button.cell')].find((b) => b.dataset.key === key);
    return button ? button.textContent.replace(/\s+/g, ' ').trim() : null;
  }, keyOf(lane));
}

const axeSource = require('fs').readFileSync(`${process.env.GDT_AXE}/axe.min.js`, 'utf8');

/**
 * The page's accessibility, checked by axe-core (WCAG 2 A and AA rules) as it stands; each
 * violation is named with the elements it was found on.
 */
async function accessible(page, what) {
  // Evaluated through the DevTools protocol: the page's CSP rightly refuses an injected
  // <script>, and is left on for everything else the test checks.
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  check(found.length === 0, `${what} has no WCAG 2.1 A/AA violation axe-core can find`, found);
}

async function main() {
  const started = Date.now();
  const browser = await chromium.launch({
    executablePath: process.env.GDT_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const timings = { launch_ms: Date.now() - started };
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.setDefaultTimeout(15_000);

    // Not signed in: the form. A wrong token: an error, no cookie.
    await page.goto(`${base}/board`);
    check(new URL(page.url()).pathname === '/board/sign-in', 'an anonymous /board leads to the sign-in form', page.url());
    await accessible(page, 'the sign-in form');
    await page.fill('#token', 'not-the-token-0123456789');
    const [refused] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    check(refused.status() === 401, 'a wrong token is answered 401', refused.status());
    const error = await page.textContent('#error');
    check(/not valid/.test(error), 'a wrong token shows an error', error);
    check((await context.cookies()).length === 0, 'a wrong token sets no cookie', await context.cookies());

    // The right token: the grid with the test's deployments.
    await page.fill('#token', process.env.GDT_VIEWER_TOKEN);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    check(new URL(page.url()).pathname === '/board', 'the right token opens the board', page.url());
    // The browser logs the refused sign-in's 401 as an error; from here on, none is expected.
    errors.length = 0;
    await page.waitForFunction((n) => document.querySelectorAll('button.cell').length >= n, expect.lanes.length);
    timings.signed_in_ms = Date.now() - started;

    const columns = await page.$$eval('#grid thead th[scope=col]', (ths) => ths.map((th) => th.textContent.trim()));
    const rows = await page.$$eval('#grid tbody th[scope=row]', (ths) => ths.map((th) => th.textContent.trim()));
    for (const lane of expect.lanes) {
      check(columns.includes(lane.environment), `a column for ${lane.environment}`, columns);
      // The row header: the repository, then the service (if any) in a span of its own.
      const name = lane.repository + (lane.service ?? '');
      check(rows.includes(name), `a row for ${name}`, rows);
      const text = await cellText(page, lane);
      check(text && text.includes(lane.word) && text.includes(lane.sha.slice(0, 7)),
        `${keyOf(lane)} shows "${lane.word}" and ${lane.sha.slice(0, 7)}`, text);
    }

    // The session is HttpOnly: no script sees it.
    const visible = await page.evaluate(() => document.cookie);
    check(!visible.includes('gdt_board'), 'document.cookie does not show the session', visible);
    const cookie = (await context.cookies()).find((c) => c.name === 'gdt_board');
    check(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict', cookie);
    check(!cookie.value.includes(process.env.GDT_VIEWER_TOKEN), 'the cookie holds no token');

    // The filter hides rows, and says how many are left.
    const total = rows.length;
    await page.fill('#filter', expect.filter);
    const shown = await page.$$eval('#grid tbody tr', (trs) => trs.filter((tr) => !tr.hidden).length);
    check(shown >= 1 && shown < total, `filtering on "${expect.filter}" hides rows`, { shown, total });
    const count = await page.textContent('#count');
    check(count.includes(`${shown} of ${total}`), 'the count says what the filter left', count);
    await page.fill('#filter', '');

    // Keyboard only: Tab to the lane's cell, Enter opens its history, Esc closes it and gives
    // the focus back.
    const openKey = keyOf(expect.open);
    await page.focus('#filter');
    let reached = false;
    for (let i = 0; i < 60 && !reached; i += 1) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate((key) => document.activeElement?.dataset?.key === key, openKey);
    }
    check(reached, `Tab reaches the cell of ${openKey}`);
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => document.getElementById('history').open
      && document.querySelectorAll('#history-table tbody tr').length >= n, expect.open.history.length);
    const history = await page.$$eval('#history-table tbody tr', (trs) => trs.map((tr) => tr.textContent.replace(/\s+/g, ' ').trim()));
    expect.open.history.forEach(([word, sha], i) => {
      check(history[i] && history[i].includes(word) && history[i].includes(sha.slice(0, 7)),
        `history row ${i + 1} of ${openKey} is ${word} ${sha.slice(0, 7)}`, history);
    });
    await page.screenshot({ path: path.join(shots, 'board-history.png') });
    await accessible(page, 'the board with a history open');
    await page.keyboard.press('Escape');
    await page.waitForFunction((key) => !document.getElementById('history').open
      && document.activeElement?.dataset?.key === key, openKey, { timeout: 5_000 });

    // The desktop view, whole page, while one deployment is still running.
    await page.waitForSelector('#dora tbody tr');
    await page.screenshot({ path: path.join(shots, 'board-desktop.png'), fullPage: true });
    await accessible(page, 'the board');

    // A new status through the API: the page picks it up by itself.
    const update = expect.update;
    const before = await cellText(page, update.lane);
    const posted = await fetch(`${base}/api/v1/deployments/${encodeURIComponent(update.workflow_id)}/status`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${process.env.GDT_API_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ status: 'success' }),
    });
    check(posted.ok, 'the status update is accepted', posted.status);
    const postedAt = Date.now();
    await page.waitForFunction(([key, word]) => {
      const button = [...document.querySelectorAll('button.cell')].find((b) => b.dataset.key === key);
      return button && button.textContent.includes(word);
    }, [keyOf(update.lane), update.word], { timeout: 15_000 }).catch(async () => {
      throw new Error(`${keyOf(update.lane)} never showed "${update.word}" within 15 s; before: ${before}; now: ${await cellText(page, update.lane)}`);
    });
    timings.update_seen_ms = Date.now() - postedAt;
    // Announced politely, without moving the focus.
    await page.waitForFunction((repository) => document.getElementById('announcer').textContent.includes(repository),
      update.lane.repository, { timeout: 2_000 });
    const announced = await page.textContent('#announcer');

    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(shots, 'board-phone.png') });
    await accessible(page, 'the board on a phone');

    check(errors.length === 0, 'no script errors', errors);
    timings.total_ms = Date.now() - started;
    console.log(JSON.stringify({
      ok: true, chromium: browser.version(), playwright: require(`${process.env.GDT_PLAYWRIGHT}/package.json`).version,
      announced, ...timings,
    }));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
