// Post status: which posts have someone connected now, who, and when each
// dark post was last seen. Refreshed on open and every 15 seconds.

import { h, put, when } from './dom.js';

const REFRESH_MS = 15_000;

export function renderPosts(ctx, main) {
  const { t } = ctx;
  const table = h('tbody');
  const note = h('p', { class: 'muted', 'aria-live': 'polite' });
  put(main, h('section', { class: 'posts' },
    h('h2', {}, t('posts.title')),
    // Scrolls sideways inside its box on a phone: reachable by keyboard too.
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('posts.title') }, h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('posts.post')), h('th', { scope: 'col' }, t('posts.country')),
        h('th', { scope: 'col' }, t('posts.status')), h('th', { scope: 'col' }, t('posts.users')),
        h('th', { scope: 'col' }, t('posts.last_seen')))),
      table)),
    note));

  async function load() {
    let posts;
    try {
      posts = ctx.link.ready ? (await ctx.link.request({ type: 'presence' })).posts
        : await ctx.get('/api/v1/presence');
    } catch {
      note.textContent = t('posts.stale');
      return;
    }
    note.textContent = t('posts.updated', { time: when(new Date().toISOString(), ctx.lang) });
    put(table, posts.map((p) => h('tr', { class: p.online ? 'online' : 'dark', dataset: { post: p.post } },
      h('th', { scope: 'row' }, p.name),
      h('td', {}, p.country),
      h('td', {}, h('span', { class: 'dot ' + (p.online ? 'on' : 'off'), 'aria-hidden': 'true' }),
        p.online ? t('posts.online') : t('posts.dark')),
      h('td', {}, p.users.map((u) => u.display_name).join(', ')),
      h('td', {}, p.online ? '—' : (p.last_seen ? when(p.last_seen, ctx.lang) : t('posts.never'))))));
  }

  load();
  const timer = setInterval(load, REFRESH_MS);
  return () => clearInterval(timer);
}
