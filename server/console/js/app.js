// The console's entry point: login screen or the shell (header with the
// connection indicator, navigation, the current view), hash routing, and
// the wiring of session, store, socket and outbox.

import { h, put, $, disk } from './dom.js';
import { session, login, logout, forget, accessToken, HubError, secondFactor, enrolByChallenge, get } from './session.js';
import { Store } from './store.js';
import { Link } from './link.js';
import { Outbox } from './outbox.js';
import { tr, LANGS, pickLang, errorText, fieldErrorText, loadLang } from './i18n.js';
import { Notices } from './notify.js';

const root = $('#app');
let ctx = null;
let cleanup = null;

function uiLang(user) {
  return disk.get('mpaka.lang.' + (user?.id ?? 'anon')) ?? pickLang(user?.language ?? navigator.language);
}

function langPicker(current, onPick) {
  const select = h('select', { id: 'lang', 'aria-label': 'Language / Langue',
    onchange: () => onPick(select.value) },
  LANGS.map(([code, name]) => h('option', { value: code, selected: code === current }, name)));
  return select;
}

function showLogin(message) {
  // The login page's strings are in i18n.js: no dictionary loads before login.
  const lang = pickLang(uiLang(null));
  const t = (k, v) => tr(lang, k, v);
  document.documentElement.lang = lang;
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: false });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', id: 'login-error', role: 'alert' }, message ? t(message) : '');
  const button = h('button', { type: 'submit', id: 'login-submit' }, t('login.submit'));
  const form = h('form', { class: 'login card', onsubmit: async (e) => {
    e.preventDefault();
    button.disabled = true;
    error.textContent = '';
    try {
      await login(user.value.trim(), pass.value);
      disk.set('mpaka.lang.anon', lang);
      start();
    } catch (err) {
      if (err.code === 'second_factor_required') return showCodeStep(err.challenge, lang);
      if (err.code === 'second_factor_enrolment_required') return showEnrolStep(err.challenge, lang);
      error.textContent = err instanceof HubError
        ? errorText(lang, err)
        : t('login.offline');
      button.disabled = false;
      pass.select();
    }
  } },
  h('h1', {}, h('span', { class: 'brand' }, 'mpaka'), ' ', h('small', {}, t('app.tagline'))),
  h('label', { for: 'username' }, t('login.username')), user,
  h('label', { for: 'password' }, t('login.password')), pass,
  error, button,
  h('p', {}, langPicker(lang, (l) => { disk.set('mpaka.lang.anon', l); showLogin(); })));
  put(root, h('main', { class: 'login-page', id: 'main' }, form));
  user.focus();
}

/** The second step of a login: a code from the authenticator app. */
async function showCodeStep(challenge, lang) {
  // Its strings are in the full dictionary (the login page has only its own).
  await loadLang(lang).catch(() => {});
  const t = (k, v) => tr(lang, k, v);
  const code = h('input', { id: 'totp-code', name: 'code', autocomplete: 'one-time-code', required: true,
    autocapitalize: 'none', spellcheck: false });
  const error = h('p', { class: 'error', id: 'login-error', role: 'alert' });
  const button = h('button', { type: 'submit', id: 'totp-submit' }, t('login.code_submit'));
  const form = h('form', { class: 'login card', id: 'totp-form', onsubmit: async (e) => {
    e.preventDefault();
    button.disabled = true;
    error.textContent = '';
    try {
      await secondFactor(challenge, code.value.trim());
      disk.set('mpaka.lang.anon', lang);
      start();
    } catch (err) {
      if (err.code === 'challenge_expired') return showLogin('err.challenge_expired');
      error.textContent = err instanceof HubError ? errorText(lang, err) : t('login.offline');
      button.disabled = false;
      code.select();
    }
  } },
  h('h1', {}, h('span', { class: 'brand' }, 'mpaka'), ' ', h('small', {}, t('login.code_title'))),
  h('label', { for: 'totp-code' }, t('login.code')), code,
  h('p', { class: 'hint' }, t('login.code_hint')),
  error, button);
  put(root, h('main', { class: 'login-page', id: 'main' }, form));
  code.focus();
}

/** A login whose role requires a second factor not yet set up: enrol, then in. */
async function showEnrolStep(challenge, lang) {
  const t = (k, v) => tr(lang, k, v);
  const [{ enrolForm }] = await Promise.all([import('./account.js'), loadLang(lang)]);
  const card = h('section', { class: 'login card', id: 'enrol-step', 'aria-labelledby': 'enrol-title' },
    h('h1', { id: 'enrol-title' }, h('span', { class: 'brand' }, 'mpaka'), ' ', h('small', {}, t('login.enrol_title'))),
    enrolForm(t, lang, enrolByChallenge(challenge), () => { disk.set('mpaka.lang.anon', lang); start(); }));
  put(root, h('main', { class: 'login-page', id: 'main' }, card));
}

async function start() {
  const user = session.user;
  const lang = await loadLang(uiLang(user));
  if (ctx || session.user?.id !== user?.id) return;
  const t = (k, v) => tr(lang, k, v);
  document.documentElement.lang = lang;
  const store = new Store(user);
  const indicator = h('span', { class: 'status', id: 'conn', role: 'status', 'aria-live': 'polite' });
  const toasts = h('div', { class: 'toasts', 'aria-live': 'assertive' });
  const banner = h('div', { class: 'pager', id: 'pager', role: 'alert', hidden: true });
  const away = h('section', { class: 'away card', id: 'away', hidden: true, 'aria-labelledby': 'away-title' });
  const link = new Link(store, {
    onStatus: () => drawIndicator(),
    onReady: () => { outbox.flush(); notices.ready(); ctx.onReady?.(); },
    onWelcome: (w) => { ctx.user = { ...user, ...w.user }; },
    onFatal: (code) => { teardown(); forget(); showLogin(code === 'account_disabled' ? 'login.disabled' : 'login.expired'); },
  }, user.id);
  const outbox = new Outbox(user, link);
  outbox.onChange(() => drawIndicator());
  const postName = (slug) => store.grants.find((g) => g.channel === 'post:' + slug)?.name
    ?? String(slug).charAt(0).toUpperCase() + String(slug).slice(1);

  ctx = { user, lang, t, err: (e) => errorText(lang, e), fieldErr: (f) => fieldErrorText(lang, f), store, link, outbox, get, toast, onReady: null, postName, navigate: (hash) => { location.hash = hash; } };
  const notices = new Notices(ctx, { banner, away, toast }, postName);
  ctx.notices = notices;
  const offStore = store.subscribe((kind, detail) => {
    if (kind === 'event') notices.event(detail);
    else if (kind === 'alerts') notices.drawBanner(false);
  });
  // For operators' scripts and the browser tests: hold the link down or let
  // it go, or refresh the session now.
  window.mpaka = { link, outbox, store, refresh: () => accessToken({ force: true }) };

  function drawIndicator() {
    const n = outbox.pending.length;
    const failed = outbox.failed.length;
    const s = link.status;
    const text = s === 'online' ? t('status.online')
      : s === 'connecting' ? t('status.connecting')
        : s === 'held' ? t('status.held')
          : t('status.retry', { s: Math.max(0, Math.ceil((link.retryAt - Date.now()) / 1000)) });
    indicator.dataset.state = s;
    retry.hidden = s === 'online' || s === 'connecting';
    put(indicator, h('span', { class: 'dot', 'aria-hidden': 'true' }), text,
      n ? h('span', { class: 'badge', id: 'pending-count' }, t('status.pending', { n })) : null);
    drawFailed();
  }

  // Actions the hub refused: each can be sent again or discarded, so no
  // "not sent" mark stays forever.
  const failedBox = h('details', { class: 'failed', id: 'failed', hidden: true });
  function drawFailed() {
    const items = outbox.failed;
    failedBox.hidden = !items.length;
    if (!items.length) { failedBox.open = false; return; }
    put(failedBox, h('summary', { class: 'badge bad' }, t('status.failed', { n: items.length })),
      h('ul', {}, items.map((i) => h('li', { dataset: { op: i.id } },
        h('span', {}, i.frame?.text ?? t('op.' + (i.ref ?? 'message'))), ' — ',
        h('span', { class: 'error' }, errorText(lang, i.error)), ' ',
        h('button', { type: 'button', class: 'secondary', onclick: () => outbox.retry(i.id) }, t('outbox.retry')), ' ',
        h('button', { type: 'button', class: 'secondary discard', onclick: () => outbox.discard(i.id) }, t('outbox.discard'))))));
  }
  setInterval(() => { if (link.status === 'waiting') drawIndicator(); }, 1000);

  function toast(text) {
    const el = h('p', { class: 'toast' }, text);
    toasts.append(el);
    setTimeout(() => el.remove(), 6000);
  }

  const retry = h('button', { type: 'button', class: 'link', id: 'reconnect',
    onclick: () => (link.held ? link.release() : link.connectNow()) }, t('status.reconnect'));
  const nav = h('nav', { class: 'tabs', 'aria-label': t('nav.main') },
    [['alerts', t('nav.alerts')], ['flows', t('nav.flows')], ['sops', t('nav.sops')], ['channels', t('nav.channels')], ['posts', t('nav.posts')],
      ...(user.role === 'auditor' ? [['log', t('nav.log')]] : [])]
      .map(([id, label]) => h('a', { href: '#/' + id, id: 'nav-' + id }, label)));
  put(root,
    h('a', { class: 'skip', href: '#main' }, t('nav.skip')),
    h('header', { class: 'top' },
      h('h1', { class: 'brand' }, 'mpaka'),
      indicator, failedBox, retry,
      h('span', { class: 'me', id: 'me' }, user.display_name, ' · ', t('role.' + user.role),
        user.post ? ' · ' + user.post : user.country ? ' · ' + user.country : ''),
      langPicker(lang, (l) => { disk.set('mpaka.lang.' + user.id, l); teardown(); start(); }),
      h('a', { href: '#/account', id: 'nav-account' }, t('nav.account')),
      h('button', { type: 'button', id: 'logout', onclick: async () => { teardown(); await logout(); showLogin(); } }, t('nav.logout'))),
    nav,
    banner,
    away,
    h('main', { id: 'main', tabindex: '-1' }),
    toasts);

  addEventListener('hashchange', route);
  ctx.teardownRoute = () => { removeEventListener('hashchange', route); offStore(); };
  drawIndicator();
  link.start();
  route();
}

function teardown() {
  if (!ctx) return;
  cleanup?.();
  cleanup = null;
  ctx.teardownRoute?.();
  ctx.link.stop();
  ctx.outbox.stop();
  ctx.store.save();
  ctx = null;
}

const VIEWS = {
  // Each view's script loads on its first use: an officer lands on the
  // alerts, a coordinator on the alerts too, an administrator on posts.
  channels: () => import('./chat.js').then((m) => m.renderChat),
  posts: () => import('./posts.js').then((m) => m.renderPosts),
  alerts: () => import('./alerts.js').then((m) => m.renderAlerts),
  sops: () => import('./sops.js').then((m) => m.renderSops),
  flows: () => import('./flows.js').then((m) => m.renderFlows),
  log: () => import('./log.js').then((m) => m.renderLog),
  account: () => import('./account.js').then((m) => m.renderAccount),
};

async function route() {
  if (!ctx) return;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const fallback = ['officer', 'coordinator', 'observer'].includes(ctx.user.role) ? 'alerts'
    : ctx.user.role === 'auditor' ? 'log' : 'posts';
  const name = VIEWS[parts[0]] ? parts[0] : fallback;
  for (const a of document.querySelectorAll('.tabs a')) {
    a.setAttribute('aria-current', a.id === 'nav-' + name ? 'page' : 'false');
  }
  const main = $('#main');
  const current = ctx;
  const render = await VIEWS[name]();
  if (ctx !== current) return;
  cleanup?.();
  ctx.onReady = null;
  main.className = '';
  if (name !== 'channels') ctx.notices.seen(name);
  cleanup = render(ctx, main, parts.slice(1)) ?? null;
}

if (session.active) start(); else showLogin();
// The other languages load only when picked.

// Keep the console's files for reloads while the link is down.
if ('serviceWorker' in navigator && window.isSecureContext) {
  addEventListener('load', () => navigator.serviceWorker.register('/sw.js').catch(() => {}));
}
