// The login session. The refresh token never reaches page script: the hub
// keeps it in an HttpOnly, SameSite=Strict cookie scoped to /api/v1/auth
// (asked for with the `x-mpaka-refresh: cookie` header). Only the short-lived
// access token and the user are kept in localStorage, so a reload keeps the
// user logged in. The refresh token is single-use, so one refresh runs at a
// time across every tab (Web Locks where the browser has them); the cookie
// jar, unlike localStorage, is the same for every tab at once, so a tab that
// refreshes just after another presents the newest token, never a spent one.
// Authenticated REST calls (`api`) live here too: they are the session's
// only users besides the socket, and one file fewer is one request fewer
// on a first load over a thin link.

import { disk } from './dom.js';

const KEY = 'mpaka.session';
/** Refresh this long before the access token expires (at most half its life). */
const MARGIN_MS = 60_000;

let current = disk.get(KEY);

/**
 * The link held down on purpose (by an operator's script or a test): no
 * request leaves the browser until it is released. Survives a reload.
 */
export const net = { held: sessionStorage.getItem('mpaka.link.held') === '1' };
let inflight = null;
const listeners = new Set();

export const session = {
  get user() { return current?.user ?? null; },
  get active() { return !!current; },
  /** When the current access token expires (ms since the epoch), or 0. */
  get expiresAt() { return current?.expiresAt ?? 0; },
  /** How long before expiry a refresh happens (ms). */
  get marginMs() { return margin(); },
  onChange(fn) { listeners.add(fn); },
};

function margin() {
  return Math.min(MARGIN_MS, (current?.ttlMs ?? MARGIN_MS * 4) / 2);
}

/** Asks the hub to keep the refresh token in its HttpOnly cookie. */
const COOKIE = { 'x-mpaka-refresh': 'cookie' };

function save(next) {
  current = next;
  if (next) disk.set(KEY, next); else disk.del(KEY);
  for (const fn of listeners) fn(current);
}

function fromResponse(r) {
  return {
    access: r.access_token,
    expiresAt: Date.now() + r.expires_in * 1000,
    ttlMs: r.expires_in * 1000,
    user: r.user,
  };
}

/** An error from the hub: `code` is the stable wire code. */
export class HubError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code || 'http_' + status;
    this.fields = body?.fields || [];
    this.retryAfterMs = body?.retry_after_ms;
    // With second_factor_required / second_factor_enrolment_required.
    this.challenge = body?.challenge;
  }
}

/** The link is down: the request never reached the hub. */
export class OfflineError extends Error {
  constructor() { super('offline'); this.code = 'offline'; }
}

export async function post(path, body, headers = {}) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  } catch {
    throw new OfflineError();
  }
  const text = await response.text();
  const json = text ? safeJson(text) : null;
  if (!response.ok) throw new HubError(response.status, json);
  return json;
}

function safeJson(text) { try { return JSON.parse(text); } catch { return null; } }

export async function login(username, password) {
  save(fromResponse(await post('/api/v1/auth/login', { username, password }, COOKIE)));
  return current.user;
}

/**
 * The code step of a login that answered `second_factor_required`: the
 * challenge and a code from the authenticator app (or a recovery code).
 */
export async function secondFactor(challenge, code) {
  save(fromResponse(await post('/api/v1/auth/second-factor', { challenge, code }, COOKIE)));
  return current.user;
}

/**
 * A login answered `second_factor_enrolment_required`: the enrolment its
 * challenge allows, as { start() → {secret, otpauth_url, qr_svg},
 * confirm(code) → recovery codes }; a confirmed enrolment logs in.
 */
export function enrolByChallenge(challenge) {
  return {
    start: () => post('/api/v1/auth/second-factor/enrol', { challenge }),
    confirm: async (code) => {
      const r = await post('/api/v1/auth/second-factor/confirm', { challenge, code }, COOKIE);
      save(fromResponse(r.tokens));
      return r.recovery_codes;
    },
  };
}

/** Logs out here and, when the hub is reachable, revokes the refresh token. */
export async function logout() {
  const old = current;
  save(null);
  if (old) post('/api/v1/auth/logout', legacyBody(old), COOKIE).catch(() => {});
}

/** Drops the session without telling the hub (account disabled, token revoked). */
export function forget() { save(null); }

/**
 * A valid access token, refreshing first when it is about to expire.
 * Throws OfflineError when the hub is unreachable (the session is kept) and
 * HubError when the hub refused the refresh (the session is dropped).
 */
export async function accessToken({ force = false } = {}) {
  if (!current) throw new HubError(401, { code: 'auth_required', message: 'not logged in' });
  if (!force && current.expiresAt - Date.now() > margin()) return current.access;
  const stale = current.access;
  inflight ??= withLock(async () => {
    // Another tab may have refreshed while we waited for the lock. (Its
    // write may not have reached this tab yet: then this tab refreshes too,
    // with the cookie the other tab's refresh set, which is harmless.)
    const stored = disk.get(KEY);
    if (stored && stored.access !== stale && stored.expiresAt - Date.now() > margin()) {
      current = stored;
      return;
    }
    try {
      save(fromResponse(await post('/api/v1/auth/refresh', legacyBody(current), COOKIE)));
    } catch (e) {
      if (e instanceof HubError && e.status < 500 && e.status !== 429) save(null);
      throw e;
    }
  }).finally(() => { inflight = null; });
  await inflight;
  return current.access;
}

/**
 * A session saved before the cookie existed still holds its refresh token:
 * it is sent in the body once, and the hub answers with the cookie.
 */
function legacyBody(s) {
  return s?.refresh ? { refresh_token: s.refresh } : {};
}

function withLock(fn) {
  if (navigator.locks?.request) return navigator.locks.request('mpaka.refresh', fn);
  return fn();
}

// Another tab logged in or out.
addEventListener('storage', (e) => {
  if (e.key !== KEY) return;
  const next = disk.get(KEY);
  if ((next?.user?.id) !== (current?.user?.id)) save(next);
  else current = next;
});

// Authenticated REST calls. A `token_expired` answer triggers one refresh
// and one retry; network failures surface as OfflineError.

export async function api(method, path, body, headers = {}) {
  for (let attempt = 0; ; attempt++) {
    if (net.held) throw new OfflineError();
    const token = await accessToken({ force: attempt > 0 });
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          authorization: 'Bearer ' + token,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new OfflineError();
    }
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = { message: text }; }
    if (response.ok) return json;
    const error = new HubError(response.status, json);
    if (attempt === 0 && (error.code === 'token_expired' || error.code === 'invalid_token')) continue;
    throw error;
  }
}

export const get = (path) => api('GET', path);
