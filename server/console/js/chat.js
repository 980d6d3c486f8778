// Channels: the list of channels this user may read, one channel's messages
// (cached ones first, older pages on demand) and a composer whose messages
// go through the outbox, shown as pending until the hub has stored them.

import { h, put, when, writtenSent } from './dom.js';

/**
 * A channel's title in the interface language: the hub's names of posts and
 * corridors are place names and stay; the kinds of channel are translated.
 */
export function channelLabel(grant, t) {
  if (!grant) return t('channel.unknown');
  const [kind, scope] = grant.channel.split(':');
  const named = scope ? t('country.' + scope) : '';
  const country = named === 'country.' + scope ? scope : named;
  if (kind === 'national') return t('chan.national', { country });
  if (kind === 'coord' && scope === 'joint') return t('chan.coord_joint');
  if (kind === 'coord') return t('chan.coord', { country });
  if (kind === 'joint') return t('chan.joint');
  if (kind === 'user') return t('chan.personal');
  return grant.name ?? grant.channel;
}

export function renderChat(ctx, main, params) {
  const { store, outbox, t } = ctx;
  const grants = () => store.grants;
  const wanted = params[0] ? decodeURIComponent(params[0]) : null;
  // The channel asked for, once the hub's list of channels is known (a
  // fresh tab may render before `welcome`); else the corridor.
  const pick = () => {
    if (wanted && (!grants().length || grants().some((g) => g.channel === wanted))) return wanted;
    const preferred = grants().find((g) => g.channel.startsWith('corridor:')) ?? grants()[0];
    return preferred?.channel ?? null;
  };
  let current = pick();

  const list = h('nav', { class: 'chan-list', 'aria-label': t('nav.channels') });
  const log = h('ol', { class: 'messages', 'aria-live': 'polite', 'aria-relevant': 'additions', id: 'messages' });
  const older = h('button', { type: 'button', class: 'link', onclick: loadOlder }, t('chat.older'));
  const text = h('textarea', { id: 'compose-text', rows: 2, maxlength: 8000, required: true,
    'aria-label': t('chat.message'), placeholder: t('chat.placeholder') });
  const sendBtn = h('button', { type: 'submit', id: 'compose-send' }, t('chat.send'));
  const form = h('form', { class: 'composer', onsubmit: send }, text, sendBtn);
  text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  const title = h('h2', { id: 'chan-title' });
  const readonly = h('p', { class: 'muted', hidden: true }, t('chat.readonly'));

  put(main, h('div', { class: 'chat' }, list,
    h('section', { class: 'chan', 'aria-labelledby': 'chan-title' }, title, older, log, readonly, form)));

  function drawList() {
    put(list, h('ul', {}, grants().filter((g) => !g.channel.startsWith('user:')).map((g) =>
      h('li', {}, h('a', {
        href: '#/channels/' + encodeURIComponent(g.channel),
        'aria-current': g.channel === current ? 'page' : false,
      }, channelLabel(g, t), ctx.notices?.unreadIn(g.channel) ? h('span', { class: 'badge bad count' }, ctx.notices.unreadIn(g.channel)) : null)))));
  }

  function drawLog() {
    const grant = grants().find((g) => g.channel === current);
    title.textContent = grant ? channelLabel(grant, t) : t('chat.none');
    form.hidden = !grant?.can_write;
    readonly.hidden = !grant || grant.can_write;
    const events = store.events(current).filter((e) => e.kind === 'message');
    const pending = outbox.items.filter((i) => i.frame?.type === 'publish' && i.frame.channel === current);
    const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 40;
    put(log,
      events.map((e) => h('li', { class: 'msg', dataset: { seq: e.seq } },
        h('span', { class: 'who' }, e.author?.display_name ?? e.author?.role ?? t('chat.hub')),
        h('time', { datetime: e.at }, when(e.at, ctx.lang)),
        e.body.written_at ? h('span', { class: 'written muted' }, writtenSent(e.body.written_at, e.at, ctx.lang, t)) : null,
        h('p', { lang: e.body.lang || null }, e.body.text))),
      pending.map((i) => h('li', { class: 'msg ' + (i.state === 'failed' ? 'failed' : 'pending'), dataset: { op: i.id } },
        h('span', { class: 'who' }, ctx.user.display_name),
        h('span', { class: 'badge' }, i.state === 'failed' ? t('outbox.failed') : t('outbox.pending')),
        h('p', {}, i.frame.text),
        i.state === 'failed' && h('p', { class: 'error' }, i.error?.message,
          ' ', h('button', { type: 'button', class: 'link', onclick: () => outbox.retry(i.id) }, t('outbox.retry')),
          ' ', h('button', { type: 'button', class: 'link', onclick: () => outbox.discard(i.id) }, t('outbox.discard')))))
    );
    if (stick) log.scrollTop = log.scrollHeight;
  }

  function send(e) {
    e.preventDefault();
    const body = text.value.trim();
    if (!body || !current) return;
    outbox.add({ via: 'ws', stamp: true, frame: { type: 'publish', channel: current, text: body, lang: ctx.lang } });
    text.value = '';
    drawLog();
    log.scrollTop = log.scrollHeight;
  }

  async function loadOlder() {
    const events = store.events(current);
    const before = events.length ? events[0].seq : undefined;
    try {
      const reply = await ctx.link.request({ type: 'history', channel: current, before, limit: 50 });
      store.addOlder(current, reply.events);
      if (!reply.events.length) older.hidden = true;
    } catch {
      ctx.toast(t('status.offline'));
    }
  }

  // Unread counts per channel: this one is read, the others count up.
  if (ctx.notices) ctx.notices.onCounts = drawList;
  ctx.notices?.seen('channels', current);
  drawList();
  drawLog();
  log.scrollTop = log.scrollHeight;
  const off = store.subscribe((kind, detail) => {
    if (kind === 'grants') { current = pick(); ctx.notices?.seen('channels', current); drawList(); drawLog(); }
    if ((kind === 'event' && detail.channel === current) || (kind === 'history' && detail === current)) drawLog();
  });
  const onOutbox = () => drawLog();
  outbox.onChange(onOutbox);
  return () => { off(); outbox.listeners.delete(onOutbox); if (ctx.notices) ctx.notices.onCounts = null; };
}
