// The dashboard reads the gateway's own API every few seconds and holds no
// data of its own. Every name from the API reaches the DOM as text
// (textContent, attributes), never as HTML.

const REFRESH_MS = 2000;
// sessionStorage: the key lives as long as the tab, not on the disk of whoever used the browser last.
const KEY_ITEM = 'mqgate.apiKey';
const CHART_HEIGHT = 220;
// The chart shows at least this much time, so a young gateway's first samples are not stretched across it.
const MIN_CHART_SECONDS = 300;

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = {};
  const key = sessionStorage.getItem(KEY_ITEM);
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const pathOf = (...names) => names.map(encodeURIComponent).join('/');

/** An element with attributes (data-* included) and children; strings become text nodes. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  node.append(...children);
  return node;
}

const count = (n) => n.toLocaleString('en-US');
const numberCell = (testid, n, title) => el('td', { class: 'num', 'data-testid': testid, title }, count(n));

function age(ms) {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** Fills a table body (or a container), showing its "none" note when there is nothing. */
function fill(container, empty, nodes) {
  container.replaceChildren(...nodes);
  empty.hidden = nodes.length > 0;
}

function renderQueues(queues) {
  const rows = queues.map((q) =>
    el(
      'tr',
      { 'data-testid': 'queue-row', 'data-queue': q.name },
      el('td', { 'data-testid': 'name' }, q.name),
      numberCell('ready', q.stats.ready),
      numberCell('in-flight', q.stats.inFlight),
      numberCell('delayed', q.stats.delayed),
      numberCell('dead-lettered', q.stats.deadLettered),
      el('td', { 'data-testid': 'dead-letter-queue' }, q.deadLetterQueue ?? '—'),
      el('td', { class: 'num', 'data-testid': 'oldest-ready' }, age(q.stats.oldestReadyAgeMs)),
    ),
  );
  fill($('queue-rows'), $('queues-empty'), rows);
}

function renderDeadLetters(queues) {
  // A dead-letter queue is any queue another queue names; the API has no other mark for it.
  const sources = new Map();
  for (const q of queues) {
    if (q.deadLetterQueue !== null) sources.set(q.deadLetterQueue, [...(sources.get(q.deadLetterQueue) ?? []), q.name]);
  }
  const rows = queues
    .filter((q) => sources.has(q.name))
    .map((q) => {
      const button = el('button', { type: 'button', 'data-testid': 'redrive' }, 'Redrive');
      button.disabled = q.stats.ready === 0;
      button.addEventListener('click', () => redrive(q.name, button));
      return el(
        'tr',
        { 'data-testid': 'dead-letter-row', 'data-queue': q.name },
        el('td', { 'data-testid': 'name' }, q.name),
        numberCell('dead-letters', q.stats.ready),
        numberCell('leased', q.stats.inFlight),
        el('td', { 'data-testid': 'sources' }, sources.get(q.name).join(', ')),
        el('td', { class: 'action' }, button),
      );
    });
  fill($('dead-letter-rows'), $('dead-letters-empty'), rows);
}

/** One table per topic: a row per partition, and a lag column per consumer group. */
function renderTopic(topic, groups) {
  const partitions = topic.stats.partitions;
  const readable = Array.isArray(groups) ? groups : [];
  const head = el(
    'tr',
    {},
    el('th', {}, 'Partition'),
    el('th', { class: 'num' }, 'Start offset'),
    el('th', { class: 'num' }, 'End offset'),
    el('th', { class: 'num' }, 'Bytes'),
    ...readable.map((g) =>
      el('th', { class: 'num', 'data-testid': 'group', 'data-group': g.name, title: `${g.members.length} members, generation ${g.generation}` }, `${g.name} lag`),
    ),
  );
  const rows = partitions.map((p) => {
    const lagCells = readable.map((g) => {
      const state = g.partitions.find((gp) => gp.partition === p.partition);
      if (state === undefined) return el('td', { class: 'num' }, '—');
      const title = `committed ${state.committed ?? 'nothing yet'}, end ${state.endOffset}`;
      return el('td', { class: 'num', 'data-testid': 'lag', 'data-group': g.name, 'data-partition': p.partition, title }, count(state.lag));
    });
    return el(
      'tr',
      { 'data-testid': 'partition-row', 'data-partition': p.partition },
      el('td', {}, String(p.partition)),
      numberCell('start-offset', p.startOffset),
      numberCell('end-offset', p.endOffset),
      numberCell('bytes', p.bytes),
      ...lagCells,
    );
  });
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  const total = el(
    'tr',
    {},
    el('th', {}, 'Total'),
    el('td'),
    el('td'),
    numberCell('total-bytes', sum(partitions.map((p) => p.bytes))),
    ...readable.map((g) => el('td', { class: 'num', 'data-testid': 'total-lag', 'data-group': g.name }, count(sum(g.partitions.map((gp) => gp.lag))))),
  );
  const note = [];
  if (groups instanceof Error) note.push(el('p', { class: 'note error' }, `Consumer groups: ${groups.message}`));
  else if (readable.length === 0) note.push(el('p', { class: 'note' }, 'No consumer groups.'));
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return el(
    'div',
    { class: 'topic', 'data-testid': 'topic', 'data-topic': topic.name },
    el('h3', {}, topic.name, ' ', el('span', { class: 'meta' }, `${plural(topic.partitions, 'partition')}, ${plural(readable.length, 'group')}`)),
    el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows), el('tfoot', {}, total)),
    ...note,
  );
}

let chart = null;
// The x range is the samples' own, widened to MIN_CHART_SECONDS: uPlot alone stretches a single sample over years.
let timeRange = [0, 1];

function chartWidth() {
  return $('chart').clientWidth;
}

function renderActivity(activity) {
  const perSecond = 1000 / activity.intervalMs;
  const samples = activity.samples;
  const times = samples.map((s) => s.at / 1000);
  const end = times.length > 0 ? times[times.length - 1] : Date.now() / 1000;
  // Half an interval past the newest sample, so its point is not cut in half by the edge.
  const pad = activity.intervalMs / 2000;
  timeRange = [Math.min(times[0] ?? end, end - MIN_CHART_SECONDS), end + pad];
  const data = [
    times,
    samples.map((s) => s.produced * perSecond),
    samples.map((s) => s.consumed * perSecond),
  ];
  if (chart === null) {
    const rate = (_u, value) => (value === null ? '—' : `${value.toFixed(1)}/s`);
    chart = new uPlot(
      {
        width: chartWidth(),
        height: CHART_HEIGHT,
        scales: {
          x: { time: true, range: () => timeRange },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        },
        series: [
          {},
          { label: 'produced', stroke: '#2563eb', width: 2, fill: 'rgba(37, 99, 235, 0.08)', value: rate },
          { label: 'consumed', stroke: '#16a34a', width: 2, value: rate },
        ],
        axes: [{ space: 90 }, { label: 'messages / s', size: 60 }],
      },
      data,
      $('chart'),
    );
  } else {
    chart.setData(data);
  }
  const sum = (key) => samples.reduce((total, s) => total + s[key], 0);
  $('activity-produced').textContent = count(sum('produced'));
  $('activity-consumed').textContent = count(sum('consumed'));
  $('activity-empty').hidden = samples.length > 0;
}

function setStatus(text, isError) {
  const status = $('status');
  status.textContent = text;
  status.classList.toggle('error', isError);
}

function notify(text, isError) {
  const notice = $('notice');
  notice.textContent = text;
  notice.classList.toggle('error', isError);
  notice.hidden = false;
}

async function refresh() {
  try {
    const [queues, topics, activity] = await Promise.all([api('GET', '/v1/queues'), api('GET', '/v1/topics'), api('GET', '/v1/activity')]);
    // A key may see a topic without the consume scope its groups need: that topic says so, the rest still shows.
    const groups = await Promise.all(
      topics.topics.map((t) => api('GET', `/v1/topics/${pathOf(t.name)}/groups`).then((r) => r.groups, (error) => error)),
    );
    renderQueues(queues.queues);
    renderDeadLetters(queues.queues);
    fill($('topics'), $('topics-empty'), topics.topics.map((t, i) => renderTopic(t, groups[i])));
    renderActivity(activity);
    setStatus(`Updated ${new Date().toLocaleTimeString()}`, false);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      setStatus(sessionStorage.getItem(KEY_ITEM) ? 'This API key was not accepted.' : 'This gateway needs an API key.', true);
    } else {
      setStatus(`Could not refresh: ${error.message}`, true);
    }
  }
}

// Refreshes run one after another: a redrive or a new key asks for one at once without racing the timer's.
let queued = Promise.resolve();
let timer;
function refreshNow() {
  clearTimeout(timer);
  queued = queued.then(refresh).then(() => {
    clearTimeout(timer);
    timer = setTimeout(refreshNow, REFRESH_MS);
  });
}

async function redrive(queue, button) {
  button.disabled = true;
  try {
    const result = await api('POST', `/v1/queues/${pathOf(queue)}/redrive`, {});
    notify(`Redrive of ${queue}: ${count(result.redriven)} moved back, ${count(result.remaining)} left.`, false);
  } catch (error) {
    notify(`Redrive of ${queue} failed: ${error.message}`, true);
  }
  refreshNow();
}

$('api-key').value = sessionStorage.getItem(KEY_ITEM) ?? '';
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('api-key').value.trim();
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  else sessionStorage.removeItem(KEY_ITEM);
  refreshNow();
});
window.addEventListener('resize', () => chart?.setSize({ width: chartWidth(), height: CHART_HEIGHT }));
refreshNow();
