// The dashboard reads the gateway's own API every few seconds and holds no
// data of its own. Every name from the API reaches the DOM as text
// (textContent, attributes), never as HTML.

const REFRESH_MS = 2000;
// sessionStorage: the key lives as long as the tab, not on the disk of whoever used the browser last.
const KEY_ITEM = 'mqgate.apiKey';
const CHART_HEIGHT = 220;
// The chart shows at least this much time, so a young gateway's first samples are not stretched across it.
const MIN_CHART_SECONDS = 300;
// The dead letters listed per dead-letter queue, oldest first, and how much of each value is shown.
const DEAD_LETTER_PAGE = 20;
const PREVIEW_CHARS = 120;
// The page shows what it can read in a few calls, whatever the number of queues: the queues with
// the most messages waiting, the first topics by name (both narrowed by the search box), their groups
// and queue subscriptions, and the first push subscriptions.
const SHOWN_QUEUES = 20;
const SHOWN_TOPICS = 20;
const SHOWN_PER_TOPIC = 50;
const SHOWN_PUSHES = 100;
const SEARCH_ITEM = 'mqgate.search';
// The tail view keeps the newest TAIL_KEPT events in the page; a queue's tail leases at most TAIL_LEASES messages at once.
const TAIL_KEPT = 50;
const TAIL_LEASES = 5;
// A tail whose stream could not be opened (or reopened) this many times in a row stops and says so.
const TAIL_ATTEMPTS = 3;
const TAIL_RETRY_MS = 1000;
// Headers the gateway adds to a dead letter.
const DEAD_LETTER_SOURCE = 'mqgate-dead-letter-source';
const DELIVERY_COUNT = 'mqgate-delivery-count';

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

/**
 * A GET's answer (or one field of it), or the ApiError the gateway answered
 * with instead: a panel the key may not see (403) says so, the others still
 * show. A gateway that cannot be reached at all still throws.
 */
const read = (path, field) =>
  api('GET', path).then(
    (body) => (field === undefined ? body : body[field]),
    (error) => {
      if (error instanceof ApiError) return error;
      throw error;
    },
  );

/** The items of a list read, none when the gateway would not give it: a key without the scope (403), a topic deleted since it was listed (404). */
const listed = (reading) => (reading instanceof ApiError ? [] : reading);

/** Reads one thing for each item, all at once. */
const each = (items, reading) => Promise.all(items.map(reading));

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

/**
 * A panel of the page: its figures (#name), or its note (#name-note)
 * instead of them. `empty` is the note when there is nothing to show.
 */
class Panel {
  constructor(name, empty) {
    this.figures = $(name);
    this.note = $(`${name}-note`);
    this.empty = empty;
  }

  /** Fills `list` (the figures, or an element inside them) with `nodes`; the "none" note when there are none. */
  fill(list, nodes) {
    list.replaceChildren(...nodes);
    this.say(nodes.length > 0 ? null : this.empty, false);
  }

  /** Shows the figures (`text` null) or, instead of them, the note. */
  say(text, isError) {
    this.figures.hidden = text !== null;
    this.note.hidden = text === null;
    this.note.textContent = text ?? '';
    this.note.classList.toggle('error', isError);
  }

  /** The figures drawn from what was read, or, when the gateway refused the read, its reason. */
  show(reading, draw) {
    if (reading instanceof ApiError) this.say(reading.message, true);
    else draw(reading);
  }
}

const panels = {
  activity: new Panel('activity', 'No figures yet: the first interval ends 5 s after the gateway starts.'),
  queues: new Panel('queues', 'No queues.'),
  deadLetters: new Panel('dead-letters', 'Nothing names a dead-letter queue.'),
  topics: new Panel('topics', 'No topics.'),
};

function queueRows(queues) {
  return queues.map((q) =>
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
      el('td', {}, tailLink(['queues', q.name], 'tail-queue', `Follow ${q.name}, leasing what it shows`)),
    ),
  );
}

/** A link to the tail view of a queue (`['queues', name]`) or a partition (`['topics', name, partition]`). */
function tailLink(target, testid, title) {
  return el('a', { href: `#tail/${pathOf(...target)}`, 'data-testid': testid, title }, 'Tail');
}

/**
 * Each dead-letter queue named by what the page shows, with what names it:
 * the API has no other mark for one. Queues, queue subscriptions and push
 * subscriptions each have a `deadLetterQueue`; a queue subscription is named
 * as its dead letters name their source, `topic/subscription`.
 */
function deadLetterSources(queues, subscriptions, pushes) {
  const namers = [
    ...queues.map((q) => [q.deadLetterQueue, q.name]),
    ...subscriptions.map((s) => [s.deadLetterQueue, `queue subscription ${s.topic}/${s.name}`]),
    ...pushes.map((p) => [p.deadLetterQueue, `push subscription ${p.name}`]),
  ];
  const sources = new Map();
  for (const [dlq, namer] of namers) {
    if (dlq !== null) sources.set(dlq, [...(sources.get(dlq) ?? []), namer]);
  }
  return sources;
}

/** Bytes of a padded base64 string, without decoding it. */
function base64Bytes(text) {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

/** A value on one line, cut to PREVIEW_CHARS: bytes are only counted, a message can be megabytes. */
function preview(message) {
  if (message.valueEncoding === 'base64') return `(${count(base64Bytes(message.value))} bytes, base64)`;
  const text = message.valueEncoding === 'json' ? JSON.stringify(message.value) : message.value.replace(/\s+/g, ' ');
  // By code point, so a cut never splits a surrogate pair.
  const chars = Array.from(text);
  return chars.length <= PREVIEW_CHARS ? text : `${chars.slice(0, PREVIEW_CHARS - 1).join('')}…`;
}

function renderDeadLetter(message) {
  const at = new Date(message.timestamp);
  const source = message.headers[DEAD_LETTER_SOURCE];
  const deliveries = message.headers[DELIVERY_COUNT];
  return el(
    'tr',
    { 'data-testid': 'dead-letter', 'data-id': message.id },
    el('td', { 'data-testid': 'id' }, message.id),
    el('td', { 'data-testid': 'time' }, el('time', { datetime: at.toISOString() }, at.toLocaleString())),
    el('td', { 'data-testid': 'source' }, source ?? '—'),
    el('td', { class: 'num', 'data-testid': 'deliveries' }, deliveries ?? '—'),
    el('td', { 'data-testid': 'state' }, message.state),
    // A base64 value shows as its size, muted so that it does not read as the value itself.
    el('td', { class: message.valueEncoding === 'base64' ? 'value bytes' : 'value', 'data-testid': 'value', title: message.contentType }, preview(message)),
  );
}

/** One block per dead-letter queue: its counts, Redrive, and its oldest messages (or why they could not be read). */
function renderDeadLetterQueue({ queue: q, sources }, page) {
  const button = el('button', { type: 'button', 'data-testid': 'redrive' }, 'Redrive');
  button.disabled = q.stats.ready === 0;
  button.addEventListener('click', () => redrive(q.name, button));
  const head = el(
    'div',
    { class: 'dlq-head' },
    el(
      'h3',
      {},
      el('span', { 'data-testid': 'name' }, q.name),
      ' ',
      el(
        'span',
        { class: 'meta' },
        'of ',
        el('span', { 'data-testid': 'sources' }, sources.join(', ')),
        ': ',
        el('span', { 'data-testid': 'ready' }, count(q.stats.ready)),
        ' ready, ',
        el('span', { 'data-testid': 'leased' }, count(q.stats.inFlight)),
        ' leased, ',
        el('span', { 'data-testid': 'delayed' }, count(q.stats.delayed)),
        ' delayed',
      ),
    ),
    button,
  );
  const block = el('div', { class: 'dlq', 'data-testid': 'dlq', 'data-queue': q.name }, head);
  if (page instanceof Error) {
    block.append(el('p', { class: 'note error', 'data-testid': 'dead-letters-error' }, `Messages: ${page.message}`));
    return block;
  }
  if (page.length === 0) {
    block.append(el('p', { class: 'note', 'data-testid': 'dead-letters-none' }, 'No dead letters.'));
    return block;
  }
  const columns = ['Message', 'Time', 'Source queue', 'Deliveries', 'State', 'Value'];
  block.append(
    el(
      'table',
      { 'data-testid': 'dead-letter-list' },
      el('thead', {}, el('tr', {}, ...columns.map((c) => el('th', c === 'Deliveries' ? { class: 'num' } : {}, c)))),
      el('tbody', {}, ...page.map(renderDeadLetter)),
    ),
  );
  // The counts and the page are two reads: a count that has not caught up yet shows no "more" rather than a negative one.
  const more = q.stats.ready + q.stats.inFlight + q.stats.delayed - page.length;
  if (more > 0) block.append(el('p', { class: 'note', 'data-testid': 'more' }, `and ${count(more)} more`));
  return block;
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
    el('th'),
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
      el('td', {}, tailLink(['topics', topic.name, String(p.partition)], 'tail-partition', `Follow partition ${p.partition} of ${topic.name}`)),
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
    el('td'),
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
  if (activity.samples.length === 0) {
    panels.activity.say(panels.activity.empty, false);
    return;
  }
  // Shown before uPlot measures the chart's width: a hidden element has none.
  panels.activity.say(null, false);
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
    // The window may have been resized while the chart was hidden, and a hidden chart measured no width.
    chart.setSize({ width: chartWidth(), height: CHART_HEIGHT });
    chart.setData(data);
  }
  const sum = (key) => samples.reduce((total, s) => total + s[key], 0);
  $('activity-produced').textContent = count(sum('produced'));
  $('activity-consumed').textContent = count(sum('consumed'));
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

/**
 * The gateway has keys and refuses the page's, or its lack of one (401).
 * That is about the key, not about one panel: every panel asks for a key
 * instead of showing figures, none of which could be read.
 */
function askForKey() {
  const given = sessionStorage.getItem(KEY_ITEM) !== null;
  setStatus(given ? 'This API key was not accepted.' : 'This gateway needs an API key.', true);
  const note = given ? 'Not shown: the API key was not accepted. Enter another above.' : 'Not shown until an API key is entered above.';
  for (const panel of Object.values(panels)) panel.say(note, given);
}

async function refresh() {
  const prefix = encodeURIComponent(sessionStorage.getItem(SEARCH_ITEM) ?? '');
  try {
    const [queues, topics, pushes, activity] = await Promise.all([
      read(`/v1/queues?sort=backlog&limit=${SHOWN_QUEUES}&prefix=${prefix}`, 'queues'),
      read(`/v1/topics?limit=${SHOWN_TOPICS}&prefix=${prefix}`, 'topics'),
      read(`/v1/push-subscriptions?limit=${SHOWN_PUSHES}`, 'pushSubscriptions'),
      read('/v1/activity'),
    ]);
    if ([queues, topics, pushes, activity].some((reading) => reading instanceof ApiError && reading.status === 401)) {
      askForKey();
      return;
    }
    // A key may see a topic without the consume scope its groups and queue subscriptions need:
    // that topic says so, and its subscriptions name no dead-letter queue here.
    const [groups, subscriptions] = await Promise.all([
      each(listed(topics), (t) => read(`/v1/topics/${pathOf(t.name)}/groups?limit=${SHOWN_PER_TOPIC}`, 'groups')),
      each(listed(topics), (t) => read(`/v1/topics/${pathOf(t.name)}/subscriptions?limit=${SHOWN_PER_TOPIC}`, 'subscriptions')),
    ]);
    const sources = deadLetterSources(listed(queues), subscriptions.flatMap(listed), listed(pushes));
    // A dead-letter queue need not be among the queues shown: it is read on its own (gone since: left out).
    const shown = new Map(listed(queues).map((q) => [q.name, q]));
    const dlqQueues = await each([...sources.keys()], (name) => (shown.has(name) ? shown.get(name) : read(`/v1/queues/${pathOf(name)}`)));
    const dlqs = dlqQueues.filter((q) => !(q instanceof ApiError)).map((q) => ({ queue: q, sources: sources.get(q.name) }));
    dlqs.sort((a, b) => (a.queue.name < b.queue.name ? -1 : 1));
    // Likewise a dead-letter queue without the consume scope its messages need.
    const pages = await each(dlqs, ({ queue }) => read(`/v1/queues/${pathOf(queue.name)}/messages?max=${DEAD_LETTER_PAGE}`, 'messages'));
    panels.queues.show(queues, (list) => panels.queues.fill($('queue-rows'), queueRows(list)));
    panels.deadLetters.show(queues, () => panels.deadLetters.fill($('dead-letters'), dlqs.map((dlq, i) => renderDeadLetterQueue(dlq, pages[i]))));
    panels.topics.show(topics, (list) => panels.topics.fill($('topics'), list.map((t, i) => renderTopic(t, groups[i]))));
    panels.activity.show(activity, renderActivity);
    setStatus(`Updated ${new Date().toLocaleTimeString()}`, false);
  } catch (error) {
    setStatus(`Could not refresh: ${error.message}`, true);
  }
}

/**
 * The tail view: one partition or queue followed over its stream with an
 * EventSource. An EventSource cannot send the API key, so with a key the
 * page first mints a stream token (POST …/stream/tokens, the key in its
 * header) and opens the URL it answers: the key never goes into a URL. The
 * browser reconnects on its own with the same URL while the token is good
 * (60 s; a partition resumes after its Last-Event-ID); once it gives up (the
 * token expired, or the gateway refused), the page mints a fresh token and
 * opens the stream again, a partition from the offset after the last event
 * shown. Leaving the view (the address no longer #tail/…) closes the stream.
 */
class Tail {
  /** `target`: `{kind: 'topics', name, partition}` or `{kind: 'queues', name}`. */
  constructor(target) {
    this.target = target;
    this.base = target.kind === 'queues' ? `/v1/queues/${pathOf(target.name)}` : `/v1/topics/${pathOf(target.name)}`;
    this.stream = target.kind === 'queues' ? `${this.base}/stream` : `${this.base}/partitions/${target.partition}/stream`;
    this.source = null;
    this.retry = undefined;
    this.failures = 0;
    this.stopped = false;
    // A partition's next offset to show: where a reopened stream starts.
    this.next = null;
  }

  say(text, isError) {
    const status = $('tail-status');
    status.textContent = text;
    status.classList.toggle('error', isError);
  }

  /** Shows what the resource is (its schema, a queue's leases), then follows it from `from` (a partition: an offset, or null for its end). */
  async start(from) {
    const resource = await read(this.base);
    if (this.stopped) return;
    if (resource instanceof ApiError) {
      this.say(resource.message, true);
      return;
    }
    this.showSchema(await read(`${this.base}/schema`));
    if (this.target.kind === 'queues') {
      $('tail-leases').textContent =
        `This view leases what it shows, as any consumer does: at most ${TAIL_LEASES} messages at a time, each for the queue's ` +
        `visibility timeout (${age(resource.visibilityTimeoutMs)}). Ack deletes a message; Nack gives it back to the queue at once. ` +
        'A message neither acked nor nacked, here or after you leave this view, comes back to the queue (for any consumer, ' +
        'one more delivery) when its lease runs out; the next one is shown once a lease is settled or runs out.';
    } else {
      const partition = resource.stats.partitions.find((p) => p.partition === this.target.partition);
      if (partition === undefined) {
        this.say(`Topic ${this.target.name} has no partition ${this.target.partition}.`, true);
        return;
      }
      // "The end" is read as a number, so that a stream opened again resumes where this one was.
      this.next = from ?? partition.endOffset;
    }
    await this.open();
  }

  showSchema(schema) {
    if (schema instanceof ApiError) {
      $('tail-schema').textContent = schema.status === 404 ? 'No schema.' : `Schema: ${schema.message}`;
      return;
    }
    const versions = `${schema.versions} version${schema.versions === 1 ? '' : 's'}`;
    $('tail-schema').replaceChildren(
      'Schema: version ',
      el('span', { 'data-testid': 'schema-version' }, String(schema.version)),
      ' (',
      el('span', { 'data-testid': 'schema-versions' }, versions),
      `), ${schema.compatibility} compatibility.`,
    );
  }

  /** The stream's URL: with the key, a fresh token's; without, the stream itself (a gateway without keys). */
  async url() {
    const query = this.target.kind === 'queues' ? `maxInFlight=${TAIL_LEASES}` : `offset=${this.next}`;
    if (sessionStorage.getItem(KEY_ITEM) === null) return `${this.stream}?${query}`;
    const minted = await api('POST', `${this.stream}/tokens`);
    return `${minted.url}&${query}`;
  }

  async open() {
    let url;
    try {
      url = await this.url();
    } catch (error) {
      this.say(`Could not open the stream: ${error.message}`, true);
      return;
    }
    if (this.stopped) return;
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener('open', () => {
      this.failures = 0;
      this.say(this.target.kind === 'queues' ? 'Following: new messages are leased and shown as they arrive.' : 'Following: new messages are shown as they are appended.', false);
    });
    source.addEventListener('message', (event) => this.show(JSON.parse(event.data), event.lastEventId));
    source.addEventListener('error', () => {
      if (source.readyState !== EventSource.CLOSED) {
        this.say('The stream was cut; reconnecting…', true);
        return;
      }
      source.close();
      this.failures += 1;
      if (this.failures >= TAIL_ATTEMPTS) {
        this.say(`Stopped: the gateway would not open the stream (${TAIL_ATTEMPTS} attempts). Reload the page to try again.`, true);
        return;
      }
      this.say('The stream ended; opening it again…', true);
      this.retry = setTimeout(() => this.open(), TAIL_RETRY_MS);
    });
  }

  show(message, id) {
    const cells =
      this.target.kind === 'queues'
        ? [el('td', { 'data-testid': 'position' }, message.id), el('td', { class: 'num', 'data-testid': 'deliveries' }, String(message.deliveryCount))]
        : [el('td', { class: 'num', 'data-testid': 'position' }, String(message.offset))];
    const at = new Date(message.timestamp);
    const row = el(
      'tr',
      { 'data-testid': 'tail-event', 'data-id': id },
      ...cells,
      el('td', { 'data-testid': 'time' }, el('time', { datetime: at.toISOString() }, at.toLocaleTimeString())),
      el('td', { 'data-testid': 'key' }, message.key ?? '—'),
      el('td', { class: message.valueEncoding === 'base64' ? 'value bytes' : 'value', 'data-testid': 'value', title: message.contentType }, preview(message)),
    );
    if (this.target.kind === 'queues') row.append(this.settleCell(message.receipt));
    else this.next = message.offset + 1;
    const list = $('tail-events');
    list.append(row);
    while (list.childElementCount > TAIL_KEPT) list.firstElementChild.remove();
  }

  /** Ack and Nack for one leased message, and then what the gateway answered (acked, nacked, expired…). */
  settleCell(receipt) {
    const cell = el('td', { 'data-testid': 'lease' });
    const settle = async (action) => {
      let outcome;
      try {
        const { results } = await api('POST', `${this.base}/${action}`, action === 'nack' ? { receipts: [receipt], delayMs: 0 } : { receipts: [receipt] });
        outcome = results[0].status;
      } catch (error) {
        outcome = `${action} failed: ${error.message}`;
      }
      cell.replaceChildren(el('span', { 'data-testid': 'settled' }, outcome));
    };
    const button = (action, label) => {
      const b = el('button', { type: 'button', class: 'small', 'data-testid': action }, label);
      b.addEventListener('click', () => {
        for (const each of cell.querySelectorAll('button')) each.disabled = true;
        settle(action);
      });
      return b;
    };
    cell.append(button('ack', 'Ack'), button('nack', 'Nack'));
    return cell;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    this.source?.close();
  }
}

let tail = null;

/** `#tail/queues/<name>` or `#tail/topics/<name>/<partition>`: the tail view; anything else: the overview. */
function tailTarget() {
  const match = /^#tail\/(queues|topics)\/([^/]+)(?:\/(\d+))?$/.exec(location.hash);
  if (match === null || (match[1] === 'topics') !== (match[3] !== undefined)) return null;
  const name = decodeURIComponent(match[2]);
  return match[1] === 'queues' ? { kind: 'queues', name } : { kind: 'topics', name, partition: Number(match[3]) };
}

/** Opens the view the address names, closing the stream of the tail shown before, if any. */
function route(from = null) {
  tail?.stop();
  tail = null;
  const target = tailTarget();
  $('tail').hidden = target === null;
  $('overview').hidden = target !== null;
  if (target === null) return;
  const topic = target.kind === 'topics';
  $('tail-title').textContent = topic ? `partition ${target.partition} of topic ${target.name}` : `queue ${target.name}`;
  $('tail-from').hidden = !topic;
  $('tail-leases').hidden = topic;
  $('tail-schema').textContent = '';
  $('tail-events').replaceChildren();
  const columns = topic ? ['Offset'] : ['Message', 'Deliveries'];
  $('tail-columns').replaceChildren(el('tr', {}, ...[...columns, 'Time', 'Key', 'Value', ...(topic ? [] : ['Lease'])].map((c) => el('th', {}, c))));
  const shown = new Tail(target);
  tail = shown;
  shown.say('Opening the stream…', false);
  shown.start(from).catch((error) => shown.say(`Could not open the stream: ${error.message}`, true));
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

$('search').value = sessionStorage.getItem(SEARCH_ITEM) ?? '';
$('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(SEARCH_ITEM, $('search').value.trim());
  refreshNow();
});
$('api-key').value = sessionStorage.getItem(KEY_ITEM) ?? '';
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('api-key').value.trim();
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  else sessionStorage.removeItem(KEY_ITEM);
  // A tail shown opens its stream again, with the new key.
  route();
  refreshNow();
});
$('tail-from').addEventListener('submit', (event) => {
  event.preventDefault();
  const offset = $('tail-offset').value.trim();
  route(/^\d+$/.test(offset) ? Number(offset) : null);
});
window.addEventListener('hashchange', () => route());
window.addEventListener('pagehide', () => tail?.stop());
window.addEventListener('resize', () => chart?.setSize({ width: chartWidth(), height: CHART_HEIGHT }));
route();
refreshNow();
