// SOPs: the list with unread and to-acknowledge marks, the reader in the
// user's language with a switcher and the acknowledge button; for
// coordinators the draft editor, publish, the coverage table and the
// reminder. Writes go through the outbox (idempotent, kept offline).

import { h, put, when, field, showFieldErrors } from './dom.js';

const LANG_NAMES = { fr: 'Français', en: 'English', sw: 'Kiswahili', rn: 'Ikirundi' };
const ROLES = ['officer', 'coordinator', 'observer'];

export function renderSops(ctx, main, params) {
  const { t, store, outbox, user } = ctx;
  const coordinator = user.role === 'coordinator';
  const [slug, sub] = params.map(decodeURIComponent);
  const list = h('ul', { class: 'sop-list', id: 'sop-list' });
  const side = h('section', { id: 'sop-side', 'aria-live': 'polite' });
  const unavailable = h('p', { class: 'muted', hidden: true }, t('feature.missing'));
  put(main, h('div', { class: 'toolbar' }, h('h2', {}, t('nav.sops')),
    coordinator && h('a', { href: '#/sops/~new/edit', class: 'button', id: 'new-sop' }, t('sop.new'))),
  unavailable, h('div', { class: 'cols' }, h('nav', { 'aria-label': t('nav.sops') }, list), side));

  const title = (s) => s.titles?.[ctx.lang] ?? s.titles?.fr ?? s.titles?.en ?? Object.values(s.titles ?? {})[0] ?? s.slug;

  async function load() {
    try {
      store.setSops(await ctx.get('/api/v1/sops'));
    } catch (e) {
      if (e.status === 404) unavailable.hidden = false;
    }
  }

  /** Whether the current version asks this user to acknowledge it. */
  function addressed(s) {
    if (s.in_audience_v === s.current_version) return s.in_audience;
    const a = s.audience;
    if (!a) return true;
    const { user } = ctx;
    const some = (l) => Array.isArray(l) && l.length > 0;
    if (some(a.countries) && !a.countries.includes(user.country)) return false;
    if (some(a.roles) && !a.roles.includes(user.role)) return false;
    if (some(a.posts) || some(a.corridors)) {
      const corridor = store.grants.find((g) => g.channel.startsWith('corridor:'))?.channel.slice('corridor:'.length);
      const byPost = user.post && some(a.posts) && a.posts.includes(user.post);
      const byCorridor = user.post && corridor && some(a.corridors) && a.corridors.includes(corridor);
      if (!byPost && !byCorridor) return false;
    }
    return true;
  }

  function drawList() {
    const sops = [...store.sops.values()].sort((a, b) => (b.updated_at ?? '').localeCompare(a.updated_at ?? ''));
    put(list, sops.map((s) => {
      const v = s.current_version;
      const unread = v && !store.isRead(s.slug, v);
      // "To acknowledge" only for readers the version is addressed to.
      const unacked = v && s.state === 'published' && !store.isAcked(s.slug, v) && addressed(s);
      return h('li', {}, h('a', { href: '#/sops/' + encodeURIComponent(s.slug), 'aria-current': s.slug === slug ? 'page' : false, dataset: { sop: s.slug } },
        h('b', {}, title(s)), ' ',
        v ? h('span', { class: 'badge' }, 'v' + v) : null,
        s.latest_draft ? h('span', { class: 'badge warn' }, t('sop.draft_n', { n: s.latest_draft })) : null,
        s.state === 'retired' ? h('span', { class: 'badge' }, t('sop.retired')) : null,
        unread ? h('span', { class: 'badge bad unread' }, t('sop.unread')) : null,
        unacked && !unread ? h('span', { class: 'badge warn unacked' }, t('sop.to_ack')) : null));
    }), !sops.length ? h('li', { class: 'muted' }, t('sop.none')) : null);
  }

  async function reader(lang) {
    const s = store.sops.get(slug);
    const version = s?.current_version ?? (s?.latest_draft ? null : 'current');
    if (version === null) return put(side, draftOnly(s));
    let r;
    try {
      r = await ctx.get(`/api/v1/sops/${encodeURIComponent(slug)}/versions/${version}?format=html&lang=${lang ?? ctx.lang}`);
    } catch (e) {
      return put(side, h('p', { class: 'error' }, ctx.err(e)));
    }
    const known = store.sops.get(r.slug);
    if (known && r.version === known.current_version) Object.assign(known, { in_audience: r.in_audience, in_audience_v: r.version });
    store.markRead(r.slug, r.version);
    if (r.acknowledged_at) store.markAcked(r.slug, r.version);
    const body = h('div', { class: 'sop-body', id: 'sop-body', lang: r.lang });
    // The hub renders Markdown to sanitized HTML (no scripts, handlers or
    // dangerous URLs); the page's CSP blocks inline script as well.
    body.innerHTML = r.html ?? '';
    const pendingAck = outbox.items.find((i) => i.ref === 'sop.ack' && i.sop === `${r.slug}@${r.version}`);
    const acked = r.acknowledged_at || store.isAcked(r.slug, r.version);
    put(side, h('article', { id: 'sop-reader', dataset: { sop: r.slug, version: r.version } },
      h('h2', {}, r.title, ' ', h('span', { class: 'badge' }, 'v' + r.version)),
      h('div', { class: 'lang-switch', role: 'group', 'aria-label': t('sop.language') }, r.languages.map((l) =>
        h('button', { type: 'button', class: 'secondary', 'aria-pressed': String(l === r.lang), dataset: { lang: l }, onclick: () => reader(l) }, LANG_NAMES[l] ?? l))),
      h('p', { class: 'muted' }, t('sop.effective', { date: r.effective_date }), r.published_at ? ' · ' + t('sop.published_at', { time: when(r.published_at, ctx.lang) }) : '',
        r.change_summary ? ' · ' + r.change_summary : ''),
      body,
      h('div', { class: 'actions' },
        r.in_audience && !acked ? h('button', { type: 'button', id: 'ack-sop', disabled: !!pendingAck, onclick: () => {
          const item = outbox.add({ via: 'rest', method: 'POST', ref: 'sop.ack', sop: `${r.slug}@${r.version}`,
            path: `/api/v1/sops/${encodeURIComponent(r.slug)}/versions/${r.version}/ack` });
          outbox.settled(item.id).then(({ reply, error }) => {
            if (reply) store.markAcked(r.slug, r.version);
            if (error) ctx.toast(ctx.err(error));
            if (location.hash.startsWith('#/sops/' + encodeURIComponent(r.slug))) reader(r.lang);
          });
          reader(r.lang);
        } }, pendingAck ? t('sop.ack_pending') : t('sop.ack')) : null,
        acked ? h('p', { class: 'badge ok', id: 'sop-acked' }, t('sop.acked', { time: r.acknowledged_at ? when(r.acknowledged_at, ctx.lang) : '' })) : null,
        coordinator ? [
          h('a', { href: `#/sops/${encodeURIComponent(r.slug)}/coverage`, id: 'sop-coverage-link' }, t('sop.coverage')),
          h('a', { href: `#/sops/${encodeURIComponent(r.slug)}/edit`, id: 'sop-edit-link' }, t('sop.edit'))] : null)));
  }

  function draftOnly(s) {
    return h('article', {}, h('h2', {}, title(s)), h('p', { class: 'muted' }, t('sop.draft_only')),
      h('a', { href: `#/sops/${encodeURIComponent(s.slug)}/edit` }, t('sop.edit')));
  }

  async function coverage() {
    const s = store.sops.get(slug);
    const v = s?.current_version;
    if (!v) return put(side, h('p', { class: 'muted' }, t('sop.not_published')));
    let c;
    try {
      c = await ctx.get(`/api/v1/sops/${encodeURIComponent(slug)}/versions/${v}/coverage`);
    } catch (e) {
      return put(side, h('p', { class: 'error' }, ctx.err(e)));
    }
    store.markRead(slug, v);
    const note = h('p', { 'aria-live': 'polite' });
    put(side, h('article', { id: 'sop-coverage', dataset: { acknowledged: c.acknowledged, missing: c.missing } },
      h('h2', {}, t('sop.coverage'), ': ', title(s), ' v', c.version),
      h('p', { class: 'cover' }, h('b', { id: 'coverage-acked' }, c.acknowledged), ' / ', c.audience_total, ' ', t('sop.have_acked'),
        ' · ', h('b', { id: 'coverage-missing' }, c.missing), ' ', t('sop.missing')),
      h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('sop.group')), h('th', { scope: 'col' }, t('sop.have_acked')),
          h('th', { scope: 'col' }, t('sop.not_yet')))),
        h('tbody', {}, [...c.by_post, ...c.by_country.filter((g) => !c.by_post.length)].map((g) =>
          h('tr', { dataset: { group: g.key ?? '' } }, h('th', { scope: 'row' }, g.key ?? t('sop.no_post')),
            h('td', {}, `${g.acknowledged} / ${g.total}`),
            h('td', {}, g.missing_users.map((u) => u.display_name).join(', ') || '—'))))),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', id: 'coverage-refresh', onclick: coverage }, t('sop.refresh'))),
      c.missing ? h('div', { class: 'actions' }, h('button', { type: 'button', id: 'sop-remind', onclick: async () => {
        const item = outbox.add({ via: 'rest', method: 'POST', ref: 'sop.remind', body: {},
          path: `/api/v1/sops/${encodeURIComponent(slug)}/versions/${v}/remind` });
        note.textContent = t('outbox.pending');
        const { reply, error } = await outbox.settled(item.id);
        note.textContent = error ? ctx.err(error) : t('sop.reminded', { n: reply.recipients.length });
      } }, t('sop.remind'))) : null,
      note));
  }

  async function editor() {
    const creating = slug === '~new';
    let base = null;
    if (!creating) {
      try {
        const hist = await ctx.get(`/api/v1/sops/${encodeURIComponent(slug)}`);
        const newest = hist.versions[0];
        if (newest) {
          base = await ctx.get(`/api/v1/sops/${encodeURIComponent(slug)}/versions/${newest.version}`);
          base.bodies = {};
          base.titlesAll = newest.titles;
          for (const l of base.languages) {
            const r = l === base.lang ? base : await ctx.get(`/api/v1/sops/${encodeURIComponent(slug)}/versions/${newest.version}?lang=${l}`);
            base.bodies[l] = r.body;
          }
          base.draft = newest.state === 'draft' ? newest.version : null;
        }
      } catch (e) {
        return put(side, h('p', { class: 'error' }, ctx.err(e)));
      }
    }
    const general = h('p', { class: 'error', role: 'alert', id: 'sop-error' });
    const slugIn = h('input', { type: 'text', id: 'sop-slug', value: creating ? '' : slug, readOnly: !creating });
    const owner = h('select', { id: 'sop-owner' }, [[user.country, user.country], ['joint', t('sop.joint')]]
      .map(([v, l]) => h('option', { value: v, selected: base?.owner === v }, l)));
    const langs = ['fr', 'en', 'sw', 'rn'].map((l) => {
      const ti = h('input', { type: 'text', id: `sop-title-${l}`, value: base?.titlesAll?.[l] ?? '' });
      const bo = h('textarea', { id: `sop-body-${l}`, rows: 6 });
      bo.value = base?.bodies?.[l] ?? '';
      return [l, ti, bo];
    });
    const summary = h('input', { type: 'text', id: 'sop-summary', value: '' });
    const date = h('input', { type: 'date', id: 'sop-date', value: base?.effective_date ?? new Date().toISOString().slice(0, 10) });
    const roles = ROLES.map((r) => [r, h('input', { type: 'checkbox', id: 'aud-' + r, checked: base?.audience?.roles?.includes(r) })]);
    const save = h('button', { type: 'submit', id: 'sop-save' }, t('sop.save'));
    const publish = h('button', { type: 'button', id: 'sop-publish', class: 'secondary', hidden: !base?.draft }, t('sop.publish'));
    const form = h('form', { class: 'card editor', id: 'sop-editor', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const titles = {}; const bodies = {};
      for (const [l, ti, bo] of langs) if (bo.value.trim() || ti.value.trim()) { titles[l] = ti.value; bodies[l] = bo.value; }
      const input = { slug: slugIn.value.trim(), owner: owner.value, titles, bodies, change_summary: summary.value,
        effective_date: date.value, audience: { roles: roles.filter(([, c]) => c.checked).map(([r]) => r) } };
      save.disabled = true;
      const item = outbox.add(creating
        ? { via: 'rest', method: 'POST', path: '/api/v1/sops', body: input, ref: 'sop.draft' }
        : { via: 'rest', method: 'PUT', path: `/api/v1/sops/${encodeURIComponent(input.slug)}/draft`, body: input, ref: 'sop.draft' });
      const { reply, error } = await outbox.settled(item.id);
      save.disabled = false;
      if (error) { outbox.discard(item.id); showFieldErrors(form, error.fields, general, ctx.fieldErr); if (!error.fields?.length) general.textContent = ctx.err(error); return; }
      store.sops.set(reply.sop.slug, reply.sop);
      store.emit('sops');
      general.textContent = '';
      publish.hidden = false;
      publish.dataset.version = reply.version;
      ctx.toast(t('sop.saved', { n: reply.version }));
      if (creating) ctx.navigate(`#/sops/${encodeURIComponent(reply.sop.slug)}/edit`);
    } },
    h('h2', {}, creating ? t('sop.new') : t('sop.edit')), general,
    h('div', { class: 'row' }, h('div', {}, field(t('sop.slug'), slugIn, 'slug')), h('div', {}, field(t('sop.owner'), owner, 'owner')),
      h('div', {}, field(t('sop.effective_date'), date, 'effective_date'))),
    langs.map(([l, ti, bo]) => h('fieldset', {}, h('legend', {}, LANG_NAMES[l]),
      field(t('sop.title'), ti, 'titles.' + l), field(t('sop.body'), bo, 'bodies.' + l))),
    field(t('sop.change_summary'), summary, 'change_summary'),
    h('fieldset', { 'data-field': 'audience' }, h('legend', {}, t('sop.audience')),
      h('div', { class: 'checks' }, roles.map(([r, c]) => h('label', { for: c.id }, c, t('role.' + r))))),
    h('div', { class: 'actions' }, save, publish));
    publish.dataset.version = base?.draft ?? '';
    publish.addEventListener('click', async () => {
      const v = Number(publish.dataset.version) || undefined;
      const item = outbox.add({ via: 'rest', method: 'POST', ref: 'sop.publish', body: v ? { version: v } : {},
        path: `/api/v1/sops/${encodeURIComponent(slugIn.value.trim())}/publish` });
      publish.disabled = true;
      const { error } = await outbox.settled(item.id);
      publish.disabled = false;
      if (error) { general.textContent = ctx.err(error); return; }
      await load();
      ctx.navigate(`#/sops/${encodeURIComponent(slugIn.value.trim())}/coverage`);
    });
    put(side, form);
  }

  function drawSide() {
    if (!slug) put(side, h('p', { class: 'muted' }, t('sop.pick')));
    else if (sub === 'edit' && coordinator) editor();
    else if (sub === 'coverage' && coordinator) coverage();
    else reader();
  }

  drawList();
  load().then(() => { if (slug && sub !== 'edit') drawSide(); });
  if (!slug || sub === 'edit') drawSide();
  ctx.onReady = load;
  const off = store.subscribe((kind, detail) => {
    if (kind === 'sops') drawList();
    if (kind === 'event' && detail.kind.startsWith('sop.')) {
      load();
      if (detail.kind === 'sop.reminder') ctx.toast(t('sop.reminder_toast', { title: detail.body.title }));
      if (slug && detail.body?.slug === slug && sub === 'coverage') coverage();
    }
  });
  return off;
}
