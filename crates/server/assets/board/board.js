// The deployments board: reads /api/v1/environments (every poll_seconds), an environment's
// history and the delivery metrics, and draws them. Text goes in through textContent and
// attributes through setAttribute only; links are kept only when they are http(s).

const KNOWN_ENVIRONMENTS = ['dev', 'development', 'test', 'qa', 'staging', 'production'];
const STATES = {
  success: { word: 'success', icon: '✓', tone: 'ok', group: 'success' },
  failure: { word: 'failure', icon: '✕', tone: 'bad', group: 'failing' },
  error: { word: 'error', icon: '!', tone: 'bad', group: 'failing' },
  inactive: { word: 'inactive', icon: '○', tone: 'off', group: 'inactive' },
  in_progress: { word: 'in progress', icon: '◐', tone: 'run', group: 'running' },
  queued: { word: 'queued', icon: '…', tone: 'run', group: 'running' },
  pending: { word: 'pending', icon: '…', tone: 'run', group: 'running' },
  unknown: { word: 'unknown', icon: '?', tone: 'off', group: 'other' },
};
const MAX_BACKOFF_MS = 60_000;
const DORA_EVERY_MS = 30_000;
const SVG = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);
const ui = {
  asOf: $('as-of'), filter: $('filter'), state: $('state'), count: $('count'),
  problem: $('problem'), grid: $('grid'), empty: $('empty'), announcer: $('announcer'),
  dora: $('dora'), doraScope: $('dora-scope'), trends: $('trends'),
  dialog: $('history'), historyTitle: $('history-title'), historyStatus: $('history-status'),
  historyBody: document.querySelector('#history-table tbody'),
};

const board = {
  answer: null, // the last /api/v1/environments answer
  etag: null,
  signatures: new Map(), // lane key -> what the cell showed, to announce changes
  pollMs: 5000,
  failures: 0,
  timer: 0,
  doraAt: 0,
  doraRepository: undefined,
  openedKey: null, // the cell whose history is open, to give focus back
  rows: [], // { tr, lanes } of the grid, for the filter
};

// ---------- pure helpers ----------

export function stateOf(word) {
  return STATES[word] ?? STATES.unknown;
}

export function safeUrl(url) {
  return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : null;
}

export function shortSha(sha) {
  return typeof sha === 'string' ? sha.slice(0, 7) : '';
}

export function laneKey(lane) {
  return `${lane.repository}\u001f${lane.service ?? ''}\u001f${lane.environment}`;
}

function rowKey(lane) {
  return `${lane.repository}\u001f${lane.service ?? ''}`;
}

// Known environments first in pipeline order, then the others alphabetically, then the
// transient ones (previews) alphabetically.
export function environmentOrder(lanes) {
  const transient = new Map();
  for (const lane of lanes) {
    transient.set(lane.environment, (transient.get(lane.environment) ?? true) && lane.transient);
  }
  const rank = (name) => {
    const known = KNOWN_ENVIRONMENTS.indexOf(name.toLowerCase());
    if (transient.get(name)) return [2, 0];
    return known >= 0 ? [0, known] : [1, 0];
  };
  return [...transient.keys()].sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || ra[1] - rb[1] || a.localeCompare(b);
  });
}

export function age(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 10) return 'just now';
  if (seconds < 60) return `${Math.floor(seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) {
    const h = Math.floor(s / 3600);
    const m = Math.round((s % 3600) / 60);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const d = Math.floor(s / 86400);
  const h = Math.round((s % 86400) / 3600);
  return h ? `${d} d ${h} h` : `${d} d`;
}

function seconds(from, to) {
  const a = Date.parse(from);
  const b = Date.parse(to);
  return Number.isFinite(a) && Number.isFinite(b) ? (b - a) / 1000 : NaN;
}

function when(deployment) {
  return deployment.finished_at ?? deployment.started_at;
}

function rowMatches(lanes, text, group) {
  const q = text.trim().toLowerCase();
  const textOk = !q || lanes.some((lane) =>
    [lane.repository, lane.service ?? '', lane.environment,
      lane.latest?.commit_sha ?? '', lane.current?.commit_sha ?? '']
      .some((field) => field.toLowerCase().includes(q)));
  const groupOk = !group || lanes.some((lane) => stateOf(lane.latest?.state).group === group);
  return textOk && groupOk;
}

// ---------- DOM helpers ----------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function link(url, text, label) {
  const href = safeUrl(url);
  return href ? el('a', { href, 'aria-label': label, rel: 'noopener noreferrer', text }) : null;
}

function badge(word) {
  const state = stateOf(word);
  return el('span', { class: `badge tone-${state.tone}` },
    el('span', { class: 'icon', 'aria-hidden': 'true', text: state.icon }),
    el('span', { class: 'word', text: state.word }));
}

function rowName(lane) {
  return lane.service ? `${lane.repository} · ${lane.service}` : lane.repository;
}

function showProblem(text) {
  ui.problem.hidden = !text;
  ui.problem.textContent = text ?? '';
}

function announce(text) {
  // Emptied first so the same words twice are read twice.
  ui.announcer.textContent = '';
  window.setTimeout(() => { ui.announcer.textContent = text; }, 50);
}

// ---------- the grid ----------

function cellContent(lane, asOf) {
  const latest = lane.latest;
  const parts = [badge(latest.state), el('span', { class: 'meta' },
    el('code', { class: 'sha', title: latest.commit_sha, text: shortSha(latest.commit_sha) }),
    el('time', { class: 'age', datetime: when(latest), text: age(seconds(when(latest), asOf)) }))];
  if (lane.current && lane.current.workflow_id !== latest.workflow_id) {
    parts.push(el('span', { class: 'in-place', text: `in place ${shortSha(lane.current.commit_sha)}` }));
  }
  if (lane.in_progress && lane.in_progress.workflow_id !== latest.workflow_id) {
    parts.push(el('span', { class: 'in-place', text: `running ${shortSha(lane.in_progress.commit_sha)}` }));
  }
  return parts;
}

function cell(lane, asOf) {
  const key = laneKey(lane);
  const name = `${rowName(lane)} in ${lane.environment}`;
  // The name a screen reader gives is the visible text with the lane before it and what the
  // button does after it (WCAG 2.5.3, label in name): no aria-label hiding what is shown.
  const button = el('button', {
    type: 'button', class: `cell tone-${stateOf(lane.latest.state).tone}`,
    'data-key': key, 'aria-haspopup': 'dialog',
  }, el('span', { class: 'visually-hidden', text: `${name}: ` }), ...cellContent(lane, asOf),
  el('span', { class: 'visually-hidden', text: '. Show the history.' }));
  button.addEventListener('click', () => openHistory(lane));
  const environmentUrl = lane.current?.environment_url ?? lane.latest.environment_url;
  const links = el('span', { class: 'links' },
    link(lane.github_url, 'GitHub', `${name} on GitHub`),
    link(lane.latest.log_url, 'log', `Log of the newest deployment of ${name}`),
    link(environmentUrl, 'open', `Open ${name}`));
  return el('td', {}, button, links.childElementCount ? links : null);
}

function render() {
  const answer = board.answer;
  if (!answer) return;
  const lanes = answer.lanes ?? [];
  const environments = environmentOrder(lanes);
  const rows = new Map();
  for (const lane of lanes) {
    const key = rowKey(lane);
    if (!rows.has(key)) rows.set(key, new Map());
    rows.get(key).set(lane.environment, lane);
  }
  const focused = document.activeElement?.dataset?.key;

  const head = el('tr', {}, el('th', { scope: 'col', class: 'corner', text: 'Repository · service' }),
    ...environments.map((name) => el('th', { scope: 'col', text: name })));
  ui.grid.tHead.replaceChildren(head);

  const body = [];
  board.rows = [];
  for (const [, byEnvironment] of rows) {
    const rowLanes = [...byEnvironment.values()];
    const first = rowLanes[0];
    const header = el('th', { scope: 'row' },
      el('span', { class: 'repository', text: first.repository }),
      first.service ? el('span', { class: 'service', text: first.service }) : null);
    const cells = environments.map((environment) => {
      const lane = byEnvironment.get(environment);
      return lane ? cell(lane, answer.as_of)
        : el('td', { class: 'none' }, el('span', { 'aria-hidden': 'true', text: '–' }),
          el('span', { class: 'visually-hidden', text: 'no deployment' }));
    });
    const tr = el('tr', { 'data-repository': first.repository }, header, ...cells);
    board.rows.push({ tr, lanes: rowLanes });
    body.push(tr);
  }
  ui.grid.tBodies[0].replaceChildren(...body);
  applyFilter();
  if (focused) findCell(focused)?.focus();

  ui.empty.hidden = lanes.length > 0;
  ui.empty.textContent = `No deployments in the last ${dayCount(answer.coverage_days ?? 30)} yet.`;
  refreshTimes();
  if (answer.truncated) showProblem('Only part of the deployments is shown: filter to see the rest.');
}

// Hides the rows the filter leaves out, without drawing anything again.
function applyFilter() {
  const text = ui.filter.value;
  const group = ui.state.value;
  let shown = 0;
  for (const { tr, lanes } of board.rows) {
    const visible = rowMatches(lanes, text, group);
    tr.hidden = !visible;
    if (visible) shown += 1;
  }
  const total = board.rows.length;
  const count = total === shown
    ? `${total} ${total === 1 ? 'row' : 'rows'}`
    : `${shown} of ${total} rows shown`;
  // Written only when it changes: a live region may read the same words again otherwise.
  if (ui.count.textContent !== count) ui.count.textContent = count;
}

function refreshTimes() {
  const answer = board.answer;
  const drift = (Date.now() - board.fetchedAt) / 1000;
  for (const time of ui.grid.querySelectorAll('time.age')) {
    time.textContent = age(seconds(time.getAttribute('datetime'), answer.as_of) + drift);
  }
  const asOf = new Date(answer.as_of);
  ui.asOf.textContent = `As of ${asOf.toLocaleTimeString()}${answer.stale ? ' (may be out of date)' : ''}`;
  ui.grid.caption.textContent = `What is deployed where, as of ${asOf.toLocaleString()}`;
}

function findCell(key) {
  return [...ui.grid.querySelectorAll('button.cell')].find((button) => button.dataset.key === key);
}

function announceChanges(lanes) {
  const changed = [];
  const next = new Map();
  for (const lane of lanes) {
    const key = laneKey(lane);
    const signature = `${lane.latest.workflow_id}|${lane.latest.state}`;
    next.set(key, signature);
    if (board.signatures.size && board.signatures.get(key) !== signature) changed.push(lane);
  }
  board.signatures = next;
  if (!changed.length) return;
  if (changed.length > 3) {
    announce(`${changed.length} environments changed.`);
    return;
  }
  announce(changed.map((lane) =>
    `${rowName(lane)} in ${lane.environment}: ${stateOf(lane.latest.state).word}, ${shortSha(lane.latest.commit_sha)}.`)
    .join(' '));
}

// ---------- polling ----------

async function getJson(url, etag) {
  const headers = { Accept: 'application/json' };
  if (etag) headers['If-None-Match'] = etag;
  const response = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers });
  if (response.status === 401) {
    window.location.assign('/board/sign-in');
    throw new Error('signed out');
  }
  if (response.status === 304) return { unchanged: true };
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try { detail = (await response.json()).detail ?? detail; } catch { /* not a problem body */ }
    throw new Error(detail);
  }
  return { body: await response.json(), etag: response.headers.get('ETag') };
}

async function poll() {
  window.clearTimeout(board.timer);
  if (document.hidden) return; // visibilitychange starts it again
  try {
    const { unchanged, body, etag } = await getJson('/api/v1/environments', board.etag);
    board.failures = 0;
    showProblem(null);
    if (!unchanged) {
      // The grid is drawn again only when a lane changed, so focus and reading position stay.
      const same = board.answer && JSON.stringify(board.answer.lanes) === JSON.stringify(body.lanes);
      board.answer = body;
      board.etag = etag;
      board.fetchedAt = Date.now();
      board.pollMs = Math.max(1, Number(body.poll_seconds) || 5) * 1000;
      if (same) {
        refreshTimes();
      } else {
        announceChanges(body.lanes ?? []);
        render();
      }
    }
    if (Date.now() - board.doraAt > DORA_EVERY_MS) loadDora();
    board.timer = window.setTimeout(poll, board.pollMs);
  } catch (error) {
    board.failures += 1;
    const wait = Math.min(MAX_BACKOFF_MS, board.pollMs * 2 ** board.failures);
    showProblem(`Could not read the deployments (${error.message}); trying again in ${Math.round(wait / 1000)} s.`);
    board.timer = window.setTimeout(poll, wait);
  }
}

// ---------- history ----------

async function openHistory(lane) {
  board.openedKey = laneKey(lane);
  ui.historyTitle.textContent = `${rowName(lane)} in ${lane.environment}`;
  ui.historyStatus.textContent = 'Loading the history…';
  ui.historyBody.replaceChildren();
  ui.dialog.showModal();
  const query = new URLSearchParams({ repository: lane.repository, environment: lane.environment, limit: '50' });
  if (lane.service) query.set('service', lane.service);
  try {
    const { body } = await getJson(`/api/v1/environments/history?${query}`);
    const deployments = body.deployments ?? [];
    ui.historyBody.replaceChildren(...deployments.map((d) => el('tr', {},
      el('td', {}, badge(d.state)),
      el('td', {}, el('code', { title: d.commit_sha, text: shortSha(d.commit_sha) })),
      el('td', { text: d.ref ?? '' }),
      el('td', {}, el('time', { datetime: d.started_at, text: new Date(d.started_at).toLocaleString() })),
      el('td', { text: d.finished_at ? duration(seconds(d.started_at, d.finished_at)) : 'running' }),
      el('td', { class: 'links' }, link(d.log_url, 'log', `Log of ${shortSha(d.commit_sha)}`),
        link(d.environment_url, 'open', `Open the environment of ${shortSha(d.commit_sha)}`)))));
    ui.historyStatus.textContent = deployments.length
      ? `${deployments.length} deployments, newest first${body.has_more ? ' (older ones not shown)' : ''}.`
      : 'No deployments in the window.';
  } catch (error) {
    ui.historyStatus.textContent = `Could not read the history: ${error.message}`;
  }
}

ui.dialog.addEventListener('close', () => {
  const key = board.openedKey;
  board.openedKey = null;
  // After the dialog's own focus restoring, which aims at the button as it was when the
  // dialog opened: a poll may have drawn the grid again since.
  if (key) window.setTimeout(() => findCell(key)?.focus(), 0);
});

// ---------- delivery metrics ----------

function selectedRepository() {
  const rows = [...ui.grid.tBodies[0].rows].filter((row) => !row.hidden);
  const repositories = new Set(rows.map((row) => row.dataset.repository));
  return repositories.size === 1 && rows.length < ui.grid.tBodies[0].rows.length
    ? [...repositories][0] : null;
}

async function loadDora() {
  board.doraAt = Date.now();
  const repository = selectedRepository();
  board.doraRepository = repository;
  const query = new URLSearchParams({ windows: '7,30' });
  if (repository) query.set('repository', repository);
  try {
    const { body } = await getJson(`/api/v1/dora?${query}`);
    if (board.doraRepository !== repository) return; // a newer request is on its way
    renderDora(body, repository);
  } catch (error) {
    ui.doraScope.textContent = `(could not be read: ${error.message})`;
  }
}

function percent(value) {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)} %`;
}

/** `1 day`, `7 days`. */
function dayCount(days) {
  return `${days} ${days === 1 ? 'day' : 'days'}`;
}

function renderDora(body, repository) {
  const coverage = body.coverage_days;
  ui.doraScope.textContent = (repository ? `of ${repository}` : 'of every repository') +
    (coverage && coverage < 30 ? ` (Temporal keeps ${dayCount(coverage)} of history)` : '');
  // Windows longer than what Temporal keeps come back cut to it: show each length once.
  const windows = (body.windows ?? []).filter((w, i, all) => all.findIndex((o) => o.days === w.days) === i);
  ui.dora.tHead.replaceChildren(el('tr', {}, el('th', { scope: 'col', text: 'Figure' }),
    ...windows.map((w) => el('th', { scope: 'col', text: dayCount(w.days) }))));
  const figures = [
    ['Deployments (successful)', (w) => `${w.deployments} (${w.successes})`],
    ['Deployment frequency', (w) => `${Number(w.deployment_frequency_per_day ?? 0).toFixed(2)} a day`],
    ['Change failure rate', (w) => percent(w.change_failure_rate)],
    ['Lead time for changes (median · p90)', (w) => `${duration(w.lead_time?.median_seconds)} · ${duration(w.lead_time?.p90_seconds)}`],
    ['Time to restore (median)', (w) => `${duration(w.time_to_restore?.median_seconds)}${w.time_to_restore?.unrestored ? ` · ${w.time_to_restore.unrestored} open` : ''}`],
  ];
  ui.dora.tBodies[0].replaceChildren(...figures.map(([name, value]) =>
    el('tr', {}, el('th', { scope: 'row', text: name }), ...windows.map((w) => el('td', { text: value(w) })))));

  const daily = body.daily ?? [];
  const days = daily.length;
  const total = daily.reduce((sum, d) => sum + d.successes + d.failures, 0);
  const failures = daily.reduce((sum, d) => sum + d.failures, 0);
  const leadTimes = daily.map((d) => d.lead_time_median_seconds);
  const known = leadTimes.filter((v) => v !== null && v !== undefined);
  ui.trends.replaceChildren(
    trend('Deployments a day', bars(daily),
      `Deployments a day over the last ${dayCount(days)}: ${total} in all, ${failures} failed.`, days),
    trend('Lead time a day (median)', line(leadTimes),
      known.length
        ? `Median lead time a day over the last ${dayCount(days)}, from ${duration(Math.min(...known))} to ${duration(Math.max(...known))}.`
        : `No lead time known in the last ${dayCount(days)}.`, days));
}

function trend(title, svg, label, days) {
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  // The axis's ends, for the eye; the image's label says it all for a screen reader.
  const axis = el('span', { class: 'trend-axis', 'aria-hidden': 'true' },
    el('span', { text: `${dayCount(days)} ago` }), el('span', { text: 'today' }));
  return el('figure', { class: 'trend' }, el('figcaption', { text: title }), svg, axis);
}

function svgNode(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

const W = 240;
const H = 48;

function bars(daily) {
  const svg = svgNode('svg', { viewBox: `0 0 ${W} ${H}`, class: 'spark', preserveAspectRatio: 'none' });
  const max = Math.max(1, ...daily.map((d) => d.successes + d.failures));
  const step = W / Math.max(1, daily.length);
  daily.forEach((d, i) => {
    const ok = (d.successes / max) * (H - 2);
    const bad = (d.failures / max) * (H - 2);
    const x = i * step + step * 0.15;
    const width = Math.max(1, step * 0.7);
    if (ok) svg.append(svgNode('rect', { x, y: H - ok, width, height: ok, class: 'ok' }));
    if (bad) svg.append(svgNode('rect', { x, y: H - ok - bad, width, height: bad, class: 'bad' }));
  });
  svg.append(svgNode('line', { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: 'axis' }));
  return svg;
}

function line(values) {
  const svg = svgNode('svg', { viewBox: `0 0 ${W} ${H}`, class: 'spark', preserveAspectRatio: 'none' });
  const known = values.filter((v) => v !== null && v !== undefined);
  const max = Math.max(1, ...known);
  // Points at the middle of the days the bars stand on, so the two plots line up.
  const step = W / Math.max(1, values.length);
  let path = '';
  values.forEach((v, i) => {
    if (v === null || v === undefined) return;
    const x = ((i + 0.5) * step).toFixed(1);
    const y = (H - 2 - (v / max) * (H - 4)).toFixed(1);
    path += `${path ? 'L' : 'M'}${x} ${y} `;
    svg.append(svgNode('circle', { cx: x, cy: y, r: 2.5, class: 'dot' }));
  });
  if (path) svg.prepend(svgNode('path', { d: path.trim(), class: 'trend-line' }));
  svg.append(svgNode('line', { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: 'axis' }));
  return svg;
}

// ---------- wiring ----------

let filterTimer = 0;
function filterChanged() {
  applyFilter();
  window.clearTimeout(filterTimer);
  filterTimer = window.setTimeout(() => {
    if (selectedRepository() !== board.doraRepository) loadDora();
  }, 400);
}
ui.filter.addEventListener('input', filterChanged);
ui.state.addEventListener('change', filterChanged);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) poll();
});
// The ages move on between polls too.
window.setInterval(() => {
  if (board.answer && !document.hidden) refreshTimes();
}, 15_000);

poll();
