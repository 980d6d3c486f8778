// Alerts: the live feed of the user's corridors (severity colours,
// acknowledgement state, escalation badges, exercise marks), the
// per-corridor summary, the raise form with the hub's field-level messages,
// one alert's detail with its history, and the steps (acknowledge, update,
// resolve, cancel). Every step goes through the outbox with its
// Idempotency-Key, so it survives a dropped link and is applied once.

import { h, put, when, num, writtenSent, field, select, showFieldErrors } from './dom.js';

const KINDS = ['mass_arrival', 'mass_departure', 'unusual_flow', 'health_screening', 'security_incident',
  'border_closure', 'border_reopening', 'other'];
const SEVERITIES = ['extreme', 'severe', 'moderate', 'minor', 'unknown'];
const URGENCIES = ['immediate', 'expected', 'future', 'past', 'unknown'];
const CERTAINTIES = ['observed', 'likely', 'possible', 'unlikely', 'unknown'];
const NEEDS = ['water', 'food', 'shelter', 'medical', 'transport', 'protection'];
const GROUPS = ['unaccompanied_or_separated_children', 'pregnant_or_lactating_women', 'elderly', 'injured_or_sick',
  'persons_with_disabilities'];
const RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i]));

const headcount = (hc) => (typeof hc === 'number' ? String(hc) : hc ? `${hc.low}–${hc.high}` : '?');

export function renderAlerts(ctx, main, params) {
  const { t, store, outbox, user } = ctx;
  const canRaise = user.role === 'officer' || user.role === 'coordinator';
  const summary = h('div', { class: 'summary', id: 'alert-summary', 'aria-live': 'polite' });
  const list = h('ul', { class: 'alert-list', id: 'alert-list' });
  const side = h('section', { class: 'alert-side', id: 'alert-side', 'aria-live': 'polite' });
  const showClosed = h('input', { type: 'checkbox', id: 'show-closed', onchange: drawList });
  const unavailable = h('p', { class: 'muted', hidden: true }, t('feature.missing'));
  put(main,
    h('h2', { class: 'sr-only' }, t('nav.alerts')),
    summary, unavailable,
    h('div', { class: 'toolbar' },
      canRaise && h('a', { href: '#/alerts/new', class: 'button', id: 'raise-alert' }, t('alert.raise')),
      h('label', { class: 'inline' }, showClosed, ' ', t('alert.show_closed'))),
    h('div', { class: params[0] === 'new' ? 'cols wide' : 'cols' }, h('section', { 'aria-label': t('alert.feed') }, list), side));
  // On a phone, an open alert takes the screen: list → detail → back.
  main.classList.toggle('has-detail', !!params[0] && params[0] !== 'new');
  if (params[0] && matchMedia('(max-width: 760px)').matches) scrollTo(0, 0);

  const selected = params[0] ?? null;

  async function load() {
    try {
      const page = await ctx.get('/api/v1/alerts?limit=200');
      store.setAlerts(page.alerts);
      const sums = await ctx.get('/api/v1/alerts/summary');
      drawSummary(sums);
    } catch (e) {
      if (e.status === 404) unavailable.hidden = false;
    }
  }

  function drawSummary(sums) {
    put(summary, sums.map((s) => h('div', { class: 'card', dataset: { corridor: s.corridor } },
      h('h3', {}, corridorName(s.corridor)),
      h('p', {}, h('b', {}, num(s.open, ctx.lang)), ' ', t('alert.sum_open', { n: s.open }), ' · ', h('b', {}, num(s.people_on_the_move, ctx.lang)), ' ', t('alert.sum_people')),
      h('p', { class: s.unacknowledged ? 'error' : 'muted' }, t('alert.sum_unacked', { n: s.unacknowledged }),
        s.oldest_unacknowledged_at ? ' · ' + t('alert.sum_oldest', { time: when(s.oldest_unacknowledged_at, ctx.lang) }) : ''),
      s.open_exercises_and_tests ? h('p', { class: 'muted' }, t('alert.sum_exercises', { n: s.open_exercises_and_tests })) : null)));
  }

  function corridorName(slug) {
    return store.grants.find((g) => g.channel === 'corridor:' + slug)?.name ?? slug;
  }

  function drawList() {
    const alerts = [...store.alerts.values()]
      .filter((a) => showClosed.checked || a.state === 'open')
      .sort((a, b) => (b.state === 'open') - (a.state === 'open')
        || RANK[a.severity] - RANK[b.severity] || b.raised_at.localeCompare(a.raised_at));
    const pending = outbox.items.filter((i) => i.ref === 'alert.raise');
    put(list,
      pending.map((i) => h('li', {}, h('div', { class: `alert ${i.body.severity} pending`, dataset: { op: i.id } },
        h('h3', {}, t('kind.' + i.body.kind), ' ', h('span', { class: 'badge warn' },
          i.state === 'failed' ? t('outbox.failed') : t('outbox.pending'))),
        h('p', {}, t('alert.headcount'), ': ', headcount(i.body.headcount))))),
      alerts.map((a) => h('li', {}, card(a))),
      !alerts.length && !pending.length ? h('li', { class: 'muted' }, t('alert.none')) : null);
  }

  function card(a) {
    const acked = a.acknowledgements?.length;
    const pendingSteps = outbox.items.filter((i) => i.alertId === a.id);
    return h('a', { href: '#/alerts/' + encodeURIComponent(a.id), id: 'alert-' + a.id,
      class: `alert ${a.severity} ${a.state !== 'open' ? 'closed' : ''} ${a.status !== 'actual' ? 'ex' : ''}`,
      'aria-current': a.id === selected ? 'true' : false, dataset: { alert: a.id, state: a.state, acked: acked ? 'yes' : 'no' } },
    h('h3', {}, h('span', { class: 'sev ' + a.severity }, t('sev.' + a.severity)), ' ', t('kind.' + a.kind), ' · ', postName(a.post),
      a.status !== 'actual' ? h('span', { class: 'badge warn' }, t('status.' + a.status)) : null,
      a.escalation_level ? h('span', { class: 'badge bad escalated' }, t('alert.escalated', { n: a.escalation_level })) : null),
    h('p', {}, t('alert.headcount'), ': ', h('b', {}, headcount(a.headcount)), ' · ', t('dir.' + a.direction),
      ' · ', when(a.raised_at, ctx.lang)),
    h('p', {}, a.state !== 'open' ? h('span', { class: 'badge' }, t('state.' + a.state))
      : acked ? h('span', { class: 'badge ok ack' }, t('alert.acked_by', { who: a.acknowledgements.map((x) => x.by.display_name ?? x.by.post ?? x.by.role).join(', ') }))
        : h('span', { class: 'badge bad unacked' }, t('alert.unacked')),
    pendingSteps.length ? h('span', { class: 'badge warn' }, t('outbox.pending')) : null));
  }

  function postName(slug) {
    const g = store.grants.find((x) => x.channel === 'post:' + slug);
    return g?.name ?? slug.charAt(0).toUpperCase() + slug.slice(1);
  }

  async function drawDetail(id) {
    const local = store.alerts.get(id);
    if (local) put(side, detailView(local, null));
    try {
      const d = await ctx.get('/api/v1/alerts/' + encodeURIComponent(id));
      store.setAlerts([d.alert]);
      put(side, detailView(d.alert, d.history));
    } catch (e) {
      if (!local) put(side, h('p', { class: 'error' }, ctx.err(e)));
    }
  }

  function step(a, kind, body) {
    const path = `/api/v1/alerts/${encodeURIComponent(a.id)}/${kind}`;
    const item = outbox.add({ via: 'rest', method: 'POST', path, body: body ?? {}, ref: 'alert.' + kind, alertId: a.id, stamp: kind === 'ack' });
    outbox.settled(item.id).then(({ reply, error }) => {
      if (reply?.alert) { store.setAlerts([reply.alert]); }
      if (error) ctx.toast(ctx.err(error));
      if (location.hash === '#/alerts/' + encodeURIComponent(a.id)) drawDetail(a.id);
    });
    drawList();
  }

  function detailView(a, history) {
    const ours = user.country === a.country;
    const open = a.state === 'open';
    const reason = h('input', { id: 'close-reason', 'aria-label': t('alert.reason'), placeholder: t('alert.reason') });
    const newCount = h('input', { id: 'update-headcount', type: 'number', inputmode: 'numeric', 'aria-label': t('alert.headcount') });
    const newSev = select('severity', SEVERITIES.map((s) => [s, t('sev.' + s)]), a.severity);
    newSev.id = 'update-severity';
    newSev.setAttribute('aria-label', t('alert.severity'));
    const alreadyAcked = a.acknowledgements?.some((x) => x.by.username === user.username || x.by.id === user.id);
    const ackQueued = outbox.items.some((i) => i.alertId === a.id && i.ref === 'alert.ack' && i.state !== 'failed');
    return h('article', { class: 'card', id: 'alert-detail', dataset: { alert: a.id } },
      h('a', { href: '#/alerts', class: 'back', id: 'alert-back' }, '← ', t('nav.alerts')),
      h('h2', {}, h('span', { class: 'sev ' + a.severity }, t('sev.' + a.severity)), ' ', t('kind.' + a.kind), ' · ', postName(a.post)),
      a.status !== 'actual' ? h('p', { class: 'badge warn' }, t('status.' + a.status)) : null,
      h('dl', { class: 'facts' },
        h('dt', {}, t('alert.state')), h('dd', { id: 'detail-state' }, t('state.' + a.state)),
        h('dt', {}, t('alert.headcount')), h('dd', {}, headcount(a.headcount)),
        h('dt', {}, t('alert.direction')), h('dd', {}, t('dir.' + a.direction)),
        h('dt', {}, t('alert.scales')), h('dd', {}, t('urg.' + a.urgency), ' · ', t('cert.' + a.certainty)),
        a.needs?.length ? [h('dt', {}, t('alert.needs')), h('dd', {}, a.needs.map((n) => t('need.' + n)).join(', '))] : null,
        Object.keys(a.vulnerable ?? {}).length ? [h('dt', {}, t('alert.vulnerable')),
          h('dd', {}, Object.entries(a.vulnerable).map(([g, n]) => `${t('grp.' + g)}: ${n}`).join(' · '))] : null,
        h('dt', {}, t('alert.raised_by')), h('dd', {}, a.raised_by.display_name ?? a.raised_by.role, ' · ', when(a.raised_at, ctx.lang)),
        h('dt', {}, t('alert.acks')), h('dd', { id: 'detail-acks' }, a.acknowledgements?.length
          ? a.acknowledgements.map((x) => `${x.by.display_name ?? x.by.post ?? x.by.role} (${x.written_at ? writtenSent(x.written_at, x.at, ctx.lang, t) : when(x.at, ctx.lang)})`).join(', ')
          : t('alert.unacked')),
        a.escalation_level ? [h('dt', {}, t('alert.escalation')), h('dd', {}, t('alert.escalated', { n: a.escalation_level }))] : null,
        a.text ? [h('dt', {}, t('alert.text')), h('dd', { lang: a.text.lang }, a.text.text)] : null,
        a.closing ? [h('dt', {}, t('alert.reason')), h('dd', {}, a.closing.reason)] : null),
      open && user.role !== 'observer' ? h('div', { class: 'actions' },
        !ours && !alreadyAcked ? h('button', { type: 'button', id: 'ack-alert', disabled: ackQueued,
          onclick: (e) => { e.currentTarget.disabled = true; e.currentTarget.textContent = t('outbox.pending'); step(a, 'ack'); } },
        ackQueued ? t('outbox.pending') : t('alert.ack')) : null,
        ours ? h('form', { class: 'row', onsubmit: (e) => {
          e.preventDefault();
          const patch = {};
          if (newCount.value !== '') patch.headcount = Number(newCount.value);
          if (newSev.value !== a.severity) patch.severity = newSev.value;
          if (Object.keys(patch).length) step(a, 'update', patch);
        } }, h('div', {}, newCount), h('div', {}, newSev), h('button', { type: 'submit', id: 'update-alert' }, t('alert.update'))) : null,
        ours ? h('div', { class: 'row' }, h('div', {}, reason),
          h('button', { type: 'button', id: 'resolve-alert', onclick: () => reason.value.trim() ? step(a, 'resolve', { reason: reason.value.trim() }) : reason.focus() }, t('alert.resolve')),
          h('button', { type: 'button', class: 'danger', id: 'cancel-alert', onclick: () => reason.value.trim() ? step(a, 'cancel', { reason: reason.value.trim() }) : reason.focus() }, t('alert.cancel'))) : null) : null,
      history ? [h('h3', {}, t('alert.history')), h('ol', { class: 'history', id: 'alert-history' }, history.map((c) => h('li', {},
        h('b', {}, t('step.' + c.step)), ' · ', c.written_at ? writtenSent(c.written_at, c.at, ctx.lang, t) : when(c.at, ctx.lang), c.by ? ' · ' + (c.by.display_name ?? c.by.role) : '',
        c.changes?.length ? h('span', { class: 'muted' }, ' — ', c.changes.map((x) => x.field).join(', ')) : null)))] : null);
  }

  function raiseForm() {
    const general = h('p', { class: 'error', role: 'alert', id: 'raise-error' });
    const f = (name, ctl, path) => { ctl.name = name; ctl.id = 'raise-' + name; return field(t('alert.' + name), ctl, path ?? name); };
    const kind = select('kind', KINDS.map((k) => [k, t('kind.' + k)]), 'mass_arrival');
    // Defaults from the officer's side of the border: an arrival comes into
    // the officer's own country, a departure leaves it.
    const home = user.country === 'TZ' ? 'into_tanzania' : 'into_burundi';
    const abroad = home === 'into_tanzania' ? 'into_burundi' : 'into_tanzania';
    const dir = select('direction', [['into_tanzania', t('dir.into_tanzania')], ['into_burundi', t('dir.into_burundi')]], home);
    kind.addEventListener('change', () => { dir.value = kind.value === 'mass_departure' ? abroad : home; });
    const low = h('input', { type: 'number', inputmode: 'numeric' });
    const high = h('input', { type: 'number', inputmode: 'numeric' });
    const sev = select('severity', SEVERITIES.map((s) => [s, t('sev.' + s)]), 'severe');
    const urg = select('urgency', URGENCIES.map((s) => [s, t('urg.' + s)]), 'immediate');
    const cert = select('certainty', CERTAINTIES.map((s) => [s, t('cert.' + s)]), 'observed');
    const status = select('status', ['actual', 'exercise', 'test'].map((s) => [s, t('status.' + s)]), 'actual');
    const text = h('textarea', { rows: 2 });
    const groups = GROUPS.map((g) => { const i = h('input', { type: 'number', inputmode: 'numeric', name: g, id: 'raise-' + g }); return [g, i]; });
    const needs = NEEDS.map((n) => [n, h('input', { type: 'checkbox', value: n, id: 'need-' + n })]);
    const submit = h('button', { type: 'submit', id: 'raise-submit' }, t('alert.submit'));
    const form = h('form', { class: 'card', id: 'raise-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const num = (i) => (i.value.trim() === '' ? undefined : Number(i.value));
      const hc = high.value.trim() === '' ? num(low) : { low: num(low) ?? 0, high: num(high) };
      const body = {
        kind: kind.value, direction: dir.value, headcount: hc ?? null, severity: sev.value, urgency: urg.value,
        certainty: cert.value, status: status.value,
        needs: needs.filter(([, c]) => c.checked).map(([n]) => n),
      };
      const vulnerable = Object.fromEntries(groups.filter(([, i]) => i.value.trim() !== '').map(([g, i]) => [g, num(i)]));
      if (Object.keys(vulnerable).length) body.vulnerable = vulnerable;
      if (text.value.trim()) body.text = { text: text.value.trim(), lang: ctx.lang };
      submit.disabled = true;
      const item = outbox.add({ via: 'rest', method: 'POST', path: '/api/v1/alerts', body, ref: 'alert.raise', stamp: true });
      drawList();
      const timer = setTimeout(() => { if (outbox.items.some((i) => i.id === item.id)) { general.textContent = t('alert.queued'); submit.disabled = false; form.reset(); } }, 1500);
      const { reply, error } = await outbox.settled(item.id);
      clearTimeout(timer);
      submit.disabled = false;
      if (error) {
        // The form keeps what was typed: fix it and send again (a new request).
        outbox.discard(item.id);
        showFieldErrors(form, error.fields, general, ctx.fieldErr);
        if (!error.fields?.length) general.textContent = ctx.err(error);
        return;
      }
      store.setAlerts([reply.alert]);
      if (location.hash === '#/alerts/new') ctx.navigate('#/alerts/' + encodeURIComponent(reply.alert.id));
    } },
    // What an officer fills in on every alert comes first; the rest keeps
    // its defaults (a real alert, immediate, observed) behind two
    // disclosures, so the form fits a screen and a half of a phone.
    h('h2', {}, t('alert.raise')), general,
    h('div', { class: 'row' }, h('div', {}, f('kind', kind)), h('div', {}, f('direction', dir))),
    h('fieldset', {}, h('legend', {}, t('alert.headcount')),
      h('div', { class: 'row pair' }, h('div', {}, field(t('alert.hc_estimate'), Object.assign(low, { id: 'raise-headcount' }), 'headcount')),
        h('div', {}, field(t('alert.hc_high'), Object.assign(high, { id: 'raise-headcount-high' }), 'headcount.high')))),
    f('severity', sev),
    h('fieldset', {}, h('legend', {}, t('alert.needs')),
      h('div', { class: 'checks', 'data-field': 'needs' }, needs.map(([n, c]) => h('label', { for: c.id }, c, t('need.' + n))))),
    f('text', text),
    h('details', { class: 'more', id: 'raise-vulnerable' }, h('summary', {}, t('alert.vulnerable')),
      h('div', { class: 'row pair' }, groups.map(([g, i]) => h('div', {}, field(t('grp.' + g), i, 'vulnerable.' + g))))),
    h('details', { class: 'more', id: 'raise-more' }, h('summary', {}, t('alert.more')),
      h('div', { class: 'row' }, h('div', {}, f('status', status)), h('div', {}, f('urgency', urg)), h('div', {}, f('certainty', cert)))),
    h('div', { class: 'actions' }, submit, h('a', { href: '#/alerts' }, t('alert.close_form'))));
    return form;
  }

  function drawSide() {
    if (selected === 'new') put(side, raiseForm());
    else if (selected) drawDetail(selected);
    else put(side, h('p', { class: 'muted' }, t('alert.pick')));
  }

  drawList();
  drawSide();
  load();
  ctx.onReady = load;
  const off = store.subscribe((kind, detail) => {
    if (kind === 'alerts' || (kind === 'event' && detail.kind.startsWith('alert.'))) {
      drawList();
      if (kind === 'event') {
        ctx.get('/api/v1/alerts/summary').then(drawSummary).catch(() => {});
        if (selected && selected !== 'new' && detail.body?.alert?.id === selected) drawDetail(selected);
      }
    }
  });
  const onOutbox = () => drawList();
  outbox.onChange(onOutbox);
  return () => { off(); outbox.listeners.delete(onOutbox); };
}
