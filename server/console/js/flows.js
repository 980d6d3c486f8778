// Flow figures. Officers tally people as they cross (one tap per person)
// or type a shift's totals; either is sent as a report through the outbox,
// so it survives a dark link and is stored once. The running tally is kept
// on disk, so a reload or a power cut loses no tap. Everyone who may read
// figures sees the last two weeks as an SVG chart (arrivals and departures
// per day, no build step) and the same figures as a table, redrawn live
// when flow events arrive; the post and its coordinators see surge
// suggestions and confirm or dismiss them.

import { h, put, disk, field, showFieldErrors } from './dom.js';

const CATS = ['men', 'women', 'boys', 'girls'];
const NATS = ['BI', 'TZ', 'other'];
const DAYS = 14;
const DAY = 86400000;

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The lines of a tally {dir: {nat: {cat: n}}} with at least one person. */
function linesOf(counts) {
  const lines = [];
  for (const [direction, byNat] of Object.entries(counts)) {
    for (const [nationality, c] of Object.entries(byNat)) {
      const line = { direction, nationality };
      for (const k of CATS) line[k] = c[k] ?? 0;
      if (CATS.some((k) => line[k] > 0)) lines.push(line);
    }
  }
  return lines;
}

export function renderFlows(ctx, main) {
  const { t, user, outbox, store } = ctx;
  const records = user.role === 'officer' && user.post;
  const verifies = records || user.role === 'coordinator';
  const chart = h('div', { class: 'flow-chart', id: 'flow-chart', 'aria-live': 'polite' });
  const table = h('div', { id: 'flow-table' });
  const totals = h('p', { id: 'flow-totals', class: 'muted' });
  const surges = h('ul', { id: 'flow-surges', class: 'alert-list' });
  put(main,
    h('h2', {}, t('nav.flows')),
    records && tallyForm(),
    records && shiftForm(),
    verifies && h('section', { 'aria-label': t('flow.surges') }, h('h3', {}, t('flow.surges')), surges),
    h('section', { 'aria-label': t('flow.chart') }, h('h3', {}, t('flow.chart')), totals, chart, table));

  // ---------------------------------------------------------------- tally

  function tallyForm() {
    const key = 'mpaka.tally.' + user.id;
    let tally = disk.get(key, null);
    const dir = h('select', { id: 'tally-direction', 'aria-label': t('flow.direction') },
      ['in', 'out'].map((d) => h('option', { value: d }, t('flow.' + d))));
    const nat = h('select', { id: 'tally-nationality', 'aria-label': t('flow.nationality') },
      NATS.map((n) => h('option', { value: n }, t('flow.nat.' + n))));
    const shown = h('p', { id: 'tally-count', 'aria-live': 'polite' });
    const send = h('button', { type: 'button', id: 'tally-send', onclick: sendTally }, t('flow.send'));
    const note = h('p', { class: 'muted', id: 'tally-note' });
    const tap = (cat) => h('button', { type: 'button', class: 'tap', id: 'tap-' + cat, onclick: () => {
      tally ??= { start: Date.now(), counts: {} };
      const c = ((tally.counts[dir.value] ??= {})[nat.value] ??= {});
      c[cat] = (c[cat] ?? 0) + 1;
      disk.set(key, tally);
      draw();
    } }, t('flow.' + cat));
    function draw() {
      const lines = tally ? linesOf(tally.counts) : [];
      const n = lines.reduce((s, l) => s + CATS.reduce((a, k) => a + l[k], 0), 0);
      shown.textContent = t('flow.tallied', { n });
      send.disabled = n === 0;
    }
    function sendTally() {
      if (!tally) return;
      const end = Date.now();
      const start = Math.max(tally.start, end - DAY + 60000);
      const body = { period_start: iso(start), period_end: iso(end + 1000), lines: linesOf(tally.counts) };
      submit(body, note);
      tally = null;
      disk.set(key, null);
      draw();
    }
    draw();
    return h('section', { class: 'tally', 'aria-label': t('flow.tally') },
      h('h3', {}, t('flow.tally')), h('div', { class: 'toolbar' }, dir, nat),
      h('div', { class: 'taps' }, CATS.map(tap)), shown, send, note);
  }

  function shiftForm() {
    const inputs = Object.fromEntries(CATS.map((c) => [c, h('input', { type: 'number', min: '0', value: '0', id: 'shift-' + c, inputmode: 'numeric' })]));
    const hours = h('input', { type: 'number', min: '1', max: '24', value: '8', id: 'shift-hours' });
    const dir = h('select', { id: 'shift-direction' }, ['in', 'out'].map((d) => h('option', { value: d }, t('flow.' + d))));
    const nat = h('select', { id: 'shift-nationality' }, NATS.map((n) => h('option', { value: n }, t('flow.nat.' + n))));
    const note = h('p', { class: 'muted', id: 'shift-note', role: 'status' });
    const form = h('form', { id: 'shift-form', onsubmit: async (e) => {
      e.preventDefault();
      const end = Date.now();
      const span = Math.min(24, Math.max(1, Number(hours.value) || 8)) * 3600000;
      const line = { direction: dir.value, nationality: nat.value };
      for (const c of CATS) line[c] = Math.max(0, Math.floor(Number(inputs[c].value) || 0));
      showFieldErrors(form, [], note);
      const sent = submit({ period_start: iso(end - span + 60000), period_end: iso(end + 1000), lines: [line] }, note);
      for (const c of CATS) inputs[c].value = '0';
      const error = await sent;
      if (!error?.fields?.length) return;
      // Refused as typed: the figures come back into the form (so the
      // refused report leaves the outbox) with the hub's reasons under
      // their fields, in the user's language; fix and send again.
      outbox.discard(error.id);
      for (const c of CATS) inputs[c].value = String(line[c]);
      showFieldErrors(form, error.fields, note, ctx.fieldErr);
    } },
    h('div', { class: 'toolbar' }, dir, nat, h('label', { class: 'inline' }, t('flow.hours'), ' ', hours)),
    // The hub names a refused count `lines.0.<category>` (one line per shift).
    h('div', { class: 'taps' }, CATS.map((c) => field(t('flow.' + c), inputs[c], 'lines.0.' + c))),
    h('button', { type: 'submit', id: 'shift-send' }, t('flow.record_totals')), note);
    return h('details', { class: 'shift' }, h('summary', {}, t('flow.shift')), form);
  }

  /** Sends a report through the outbox; resolves to the hub's refusal, if any. */
  async function submit(body, note) {
    const item = outbox.add({ via: 'rest', method: 'POST', path: '/api/v1/flows/reports', body, ref: 'flow.record' });
    note.textContent = t('flow.queued');
    const { reply, error } = await outbox.settled(item.id);
    if (reply) note.textContent = t('flow.sent', { n: reply.report?.total ?? 0 });
    if (error) note.textContent = [ctx.err(error), ...(error.fields ?? []).map(ctx.fieldErr)].join(' ');
    return error && { ...error, id: item.id };
  }

  // ---------------------------------------------------------------- chart

  async function load() {
    const from = iso(Math.floor(Date.now() / DAY) * DAY - (DAYS - 1) * DAY);
    try {
      const s = await ctx.get('/api/v1/flows/series?scope=all&bucket=day&from=' + encodeURIComponent(from));
      draw(s);
    } catch (e) {
      put(chart, h('p', { class: 'muted' }, e.status === 403 ? t('flow.none') : ctx.err(e)));
    }
    if (verifies) {
      try { drawSurges(await ctx.get('/api/v1/flows/surges?state=suggested')); } catch { /* shown on the next event */ }
    }
  }

  function draw(s) {
    const points = s.points.map((p) => ({ day: p.start.slice(0, 10), in: p.in, out: p.out, total: p.total }));
    const change = s.change.percent == null ? '' : ` · ${s.change.percent > 0 ? '+' : ''}${s.change.percent}%`;
    totals.textContent = t('flow.period_totals', { total: s.totals.total, in: s.totals.in, out: s.totals.out }) + change;
    const max = Math.max(1, ...points.map((p) => Math.max(p.in, p.out)));
    const w = 320; const ht = 140; const band = w / Math.max(points.length, 1);
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', `0 0 ${w} ${ht + 16}`);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', t('flow.chart'));
    svg.setAttribute('id', 'flow-svg');
    points.forEach((p, i) => {
      for (const [k, dx, cls] of [['in', 0.1, 'bar-in'], ['out', 0.5, 'bar-out']]) {
        const r = document.createElementNS(ns, 'rect');
        const bh = (p[k] / max) * ht;
        r.setAttribute('x', String(i * band + dx * band));
        r.setAttribute('y', String(ht - bh));
        r.setAttribute('width', String(band * 0.4));
        r.setAttribute('height', String(bh));
        r.setAttribute('class', cls);
        r.setAttribute('fill', k === 'in' ? '#1f6feb' : '#d97706');
        const title = document.createElementNS(ns, 'title');
        title.textContent = `${p.day} ${t('flow.' + k)}: ${p[k]}`;
        r.append(title);
        svg.append(r);
      }
    });
    put(chart, svg);
    put(table, h('table', { class: 'flow-table' },
      h('thead', {}, h('tr', {}, [t('flow.date'), t('flow.in'), t('flow.out'), t('flow.total')].map((x) => h('th', {}, x)))),
      h('tbody', {}, points.map((p) => h('tr', {}, h('td', {}, p.day), h('td', {}, String(p.in)), h('td', {}, String(p.out)), h('td', {}, String(p.total)))))));
  }

  function drawSurges(list) {
    put(surges, list.length ? list.map((s) => h('li', { class: 'alert sev-' + s.draft.severity, id: 'surge-' + s.id },
      h('p', {}, t('flow.surge_text', { post: s.post, day: s.day, n: s.observed, e: Math.round(s.expected) })),
      h('button', { type: 'button', class: 'surge-confirm', onclick: () => verify(s, 'confirm', {}) }, t('flow.confirm')),
      ' ',
      h('button', { type: 'button', class: 'surge-dismiss', onclick: () => {
        const reason = prompt(t('flow.reason'));
        if (reason) verify(s, 'dismiss', { reason });
      } }, t('flow.dismiss')))) : h('li', { class: 'muted' }, t('flow.no_surges')));
  }

  async function verify(s, step, body) {
    const item = outbox.add({ via: 'rest', method: 'POST', path: `/api/v1/flows/surges/${s.id}/${step}`, body, ref: 'flow.' + step });
    const { error } = await outbox.settled(item.id);
    if (error) ctx.toast(ctx.err(error));
    load();
  }

  let timer = null;
  const off = store.subscribe((kind, event) => {
    if (kind === 'event' && event.kind.startsWith('flow.')) {
      clearTimeout(timer);
      timer = setTimeout(load, 200);
    }
  });
  load();
  return () => { off(); clearTimeout(timer); };
}
