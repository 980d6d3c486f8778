// The socket to the hub: authenticates, subscribes to every readable
// channel from the last sequence number seen (so nothing is missed and
// nothing repeats), answers requests by id, notices dead links with its own
// pings, renews its token in band (`reauth`) before the hub would close it
// at expiry, and reconnects with capped exponential backoff and jitter.
//
// One socket per browser, not per tab: the tabs of one user elect a leader
// with a Web Lock (`mpaka.socket.<user>`); the leader owns the socket and
// relays its events, status and welcome to the other tabs over a
// BroadcastChannel, and sends their requests for them. When the leader tab
// closes, the browser hands the lock to a waiting tab, which connects and
// resumes from the last sequence number every tab has kept. Without Web
// Locks or BroadcastChannel (an insecure context) each tab keeps its own
// socket, as before. See docs/console.md.

import { accessToken, session, HubError, OfflineError, net } from './session.js';
import { newId } from './dom.js';

/** Backoff bounds, in milliseconds. */
const BACKOFF_MIN = 1000;
const BACKOFF_MAX = 30_000;
/** Our own liveness check: ping after this much silence, give up after that. */
const PING_AFTER_MS = 25_000;
const PONG_WITHIN_MS = 10_000;
/** A request without reply for this long fails (the link is likely dead). */
const REQUEST_TIMEOUT_MS = 20_000;
/** On a first connection, replay this many sequence numbers of history. */
const FIRST_REPLAY = 400;
/** sessionStorage key of the "held offline" switch (survives a reload). */
const HELD = 'mpaka.link.held';

/**
 * The short references of the hub's `compact` events on one socket
 * (docs/protocol.md): an event is `[seq, channel, at, author, kind, body]`,
 * with channel and author numbers announced by `refs` frames before use and
 * `at` in Unix milliseconds. Turned back into the `event` object the rest
 * of the console reads.
 */
class Refs {
  constructor() {
    this.channels = new Map();
    this.authors = new Map();
  }

  take(frame) {
    for (const c of frame.channels || []) this.channels.set(c.ref, c.channel);
    for (const a of frame.authors || []) this.authors.set(a.ref, a.author);
  }

  event([seq, channel, at, author, kind, body]) {
    const frame = { type: 'event', seq, channel: this.channels.get(channel), at: new Date(at).toISOString(), kind, body };
    if (author !== null) frame.author = this.authors.get(author);
    return frame;
  }
}

export class Link {
  /**
   * @param store  the Store receiving events
   * @param hooks  { onWelcome(welcome), onReady(), onStatus(status), onFatal(code) }
   */
  constructor(store, hooks, userId) {
    this.store = store;
    this.hooks = hooks;
    this.tabId = newId('tab');
    /** True in the tab that owns the socket. */
    this.leader = false;
    this.lockName = 'mpaka.socket.' + userId;
    this.bc = typeof BroadcastChannel === 'function' && navigator.locks?.request
      ? new BroadcastChannel('mpaka.link.' + userId) : null;
    /** What the leader last said (followers): status, ready, retryAt, leaderId. */
    this.remote = { status: 'connecting', ready: false, retryAt: 0, leader: null };
    this.welcome = null;
    this.unlock = null;
    this.ws = null;
    this.status = 'connecting';
    this.attempt = 0;
    this.retryAt = 0;
    this.retryTimer = null;
    this.pending = new Map();
    this.lastHeard = 0;
    this.alive = null;
    this.stopped = false;
    this.held = sessionStorage.getItem(HELD) === '1';
    this.ready = false;
    /** The access token this socket authenticated with (or last reauthed to). */
    this.token = null;
    this.reauthTimer = null;
    this.onOnline = () => { if (!this.held) this.connectNow(); };
    this.onOffline = () => this.drop('browser offline');
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
  }

  setStatus(status) {
    this.status = status;
    this.hooks.onStatus?.(status);
    this.announce();
  }

  start() {
    if (!this.bc) return this.lead();
    this.bc.onmessage = (m) => this.fromTabs(m.data);
    this.onPageHide = () => { if (this.leader) this.tell({ t: 'bye' }); };
    addEventListener('pagehide', this.onPageHide);
    this.setStatus(this.held ? 'held' : 'connecting');
    this.tell({ t: 'hello' });
    // Held until this tab closes or logs out: the browser then hands the
    // lock to the next tab waiting for it.
    navigator.locks.request(this.lockName, () => new Promise((resolve) => {
      if (this.stopped) return resolve();
      this.unlock = resolve;
      this.lead();
    }));
  }

  /** This tab owns the socket from now on. */
  lead() {
    this.leader = true;
    this.ready = false;
    this.failRelayed();
    if (this.held) this.setStatus('held');
    else this.connect();
    this.announce();
  }

  tell(message) {
    try { this.bc?.postMessage({ ...message, from: this.tabId }); } catch { /* closed */ }
  }

  /** The leader's state, for the other tabs. */
  announce() {
    if (!this.leader || !this.bc) return;
    this.tell({ t: 'status', status: this.status, ready: this.ready, retryAt: this.retryAt, epoch: this.store.epoch });
  }

  /** A message from another tab of this user. */
  fromTabs(m) {
    if (!m || m.from === this.tabId || this.stopped) return;
    if (this.leader) {
      if (m.t === 'hello') {
        if (this.welcome) this.tell({ t: 'welcome', welcome: this.welcome });
        this.announce();
      } else if (m.t === 'req') {
        this.request(m.frame).then(
          (reply) => this.tell({ t: 'res', to: m.from, id: m.id, reply }),
          (e) => this.tell({ t: 'res', to: m.from, id: m.id,
            error: e instanceof HubError ? { status: e.status, body: { code: e.code, message: e.message, fields: e.fields, retry_after_ms: e.retryAfterMs } } : null }));
      } else if (m.t === 'connect') {
        this.connectNow();
      }
      return;
    }
    switch (m.t) {
      case 'status': {
        const wasReady = this.ready;
        if (this.remote.leader !== m.from) this.failRelayed();
        this.remote = { status: m.status, ready: m.ready, retryAt: m.retryAt, leader: m.from };
        if (m.epoch) {
          if (this.store.epoch !== null && this.store.epoch !== m.epoch) this.store.resync(m.epoch);
          else this.store.setEpoch(m.epoch);
        }
        this.ready = m.ready && !this.held;
        this.setStatus(this.held ? 'held' : m.status);
        if (this.ready && !wasReady) this.hooks.onReady?.();
        return;
      }
      case 'bye':
        if (m.from === this.remote.leader) {
          this.ready = false;
          this.failRelayed();
          if (!this.held) this.setStatus('connecting');
        }
        return;
      case 'welcome':
        this.welcome = m.welcome;
        this.store.setGrants(m.welcome.channels);
        this.hooks.onWelcome?.(m.welcome);
        return;
      case 'event':
        if (!this.held) this.store.add(m.frame);
        return;
      case 'res':
        if (m.to === this.tabId) {
          this.settle(m.id, m.error === undefined ? m.reply : null,
            m.error === undefined ? null : m.error ? new HubError(m.error.status, m.error.body) : new OfflineError());
        }
        return;
      case 'fatal':
        this.hooks.onFatal?.(m.code);
        return;
      default:
    }
  }

  /** Requests sent through a leader that is gone fail at once (they are retried). */
  failRelayed() {
    for (const [id, p] of [...this.pending]) if (p.relayed) this.settle(id, null, new OfflineError());
  }

  /** Closes for good (logout). */
  stop() {
    this.stopped = true;
    if (this.leader) this.tell({ t: 'bye' });
    this.unlock?.();
    this.unlock = null;
    if (this.onPageHide) removeEventListener('pagehide', this.onPageHide);
    try { this.bc?.close(); } catch { /* closed */ }
    clearTimeout(this.retryTimer);
    clearTimeout(this.reauthTimer);
    clearInterval(this.alive);
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    this.ws?.close(1000, 'bye');
    this.failAll(new OfflineError());
  }

  /** Cuts the link and keeps it cut until release(), also across reloads. */
  hold() {
    this.held = true;
    net.held = true;
    sessionStorage.setItem(HELD, '1');
    clearTimeout(this.retryTimer);
    if (this.leader) this.drop('held');
    else { this.ready = false; this.failRelayed(); }
    this.setStatus('held');
  }

  release() {
    this.held = false;
    net.held = false;
    sessionStorage.removeItem(HELD);
    if (!this.leader) {
      this.ready = this.remote.ready;
      this.setStatus(this.remote.status);
      if (this.ready) this.hooks.onReady?.();
    }
    this.connectNow();
  }

  connectNow() {
    if (this.stopped || this.held) return;
    if (!this.leader) { this.tell({ t: 'connect' }); return; }
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    if (!this.ws) this.connect();
  }

  async connect() {
    if (this.stopped || this.held || this.ws || !this.leader) return;
    this.setStatus('connecting');
    let token;
    try {
      token = await accessToken();
    } catch (e) {
      if (e instanceof HubError && e.status === 401) return this.hooks.onFatal?.(e.code);
      return this.retry();
    }
    if (this.stopped || this.held || this.ws) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/ws`);
    this.ws = ws;
    this.ready = false;
    this.token = token;
    this.refs = new Refs();
    ws.onopen = () => {
      this.lastHeard = Date.now();
      // Compact events and batching: fewer bytes on a thin, paid link.
      ws.send(JSON.stringify({ type: 'auth', id: newId('auth'), v: 1, token, encoding: 'compact', batch: true }));
    };
    ws.onmessage = (m) => this.receive(ws, m.data);
    ws.onclose = (e) => this.closed(ws, e.code);
    ws.onerror = () => {};
  }

  receive(ws, data) {
    if (ws !== this.ws) return;
    this.lastHeard = Date.now();
    // Frames ready together come in one message, one per line.
    for (const line of data.split('\n')) this.frame(line);
  }

  frame(line) {
    let frame;
    try { frame = JSON.parse(line); } catch { return; }
    if (Array.isArray(frame)) frame = this.refs.event(frame);
    switch (frame.type) {
      case 'refs': return this.refs.take(frame);
      case 'welcome': return this.welcomed(frame);
      case 'event':
        this.store.add(frame);
        this.tell({ t: 'event', frame });
        return;
      case 'error':
        if (!frame.id || !this.pending.has(frame.id)) {
          if (frame.code === 'token_expired' || frame.code === 'invalid_token') this.tokenRefused = frame.code;
          return;
        }
        return this.settle(frame.id, null, new HubError(frame.code === 'rate_limited' ? 429 : 400, frame));
      default:
        if (frame.id && this.pending.has(frame.id)) this.settle(frame.id, frame, null);
    }
  }

  async welcomed(welcome) {
    this.attempt = 0;
    this.welcome = welcome;
    this.store.setGrants(welcome.channels);
    this.hooks.onWelcome?.(welcome);
    this.tell({ t: 'welcome', welcome });
    const channels = welcome.channels.map((c) => c.channel);
    // Another epoch: the hub's log was restored to an older point and its
    // sequence numbers no longer match what this browser kept.
    if (this.store.epoch !== null && this.store.epoch !== welcome.epoch) this.store.resync(welcome.epoch);
    const subscribe = () => {
      const frame = { type: 'subscribe', channels, since: this.store.lastSeq ?? Math.max(0, welcome.head_seq - FIRST_REPLAY) };
      if (this.store.lastSeq !== null && this.store.epoch !== null) frame.epoch = this.store.epoch;
      return this.request(frame);
    };
    clearInterval(this.alive);
    this.alive = setInterval(() => this.checkAlive(), 5000);
    try {
      let reply;
      try {
        reply = await subscribe();
      } catch (e) {
        if (!(e instanceof HubError && e.code === 'epoch_changed')) throw e;
        this.store.resync(welcome.epoch);
        reply = await subscribe();
      }
      this.store.setEpoch(reply.epoch);
    } catch {
      this.drop('subscribe failed');
      return;
    }
    this.ready = true;
    this.setStatus('online');
    this.scheduleReauth();
    this.hooks.onReady?.();
  }

  /**
   * The hub closes a socket when its token expires: shortly before that,
   * get a fresh token (refreshing the session if needed, once per browser)
   * and hand it to the open socket, which keeps its subscriptions.
   */
  scheduleReauth() {
    clearTimeout(this.reauthTimer);
    const ws = this.ws;
    if (!ws || !session.expiresAt) return;
    const delay = Math.max(0, session.expiresAt - Date.now() - session.marginMs) + 50;
    this.reauthTimer = setTimeout(() => this.reauth(ws), delay);
  }

  async reauth(ws) {
    if (ws !== this.ws || !this.ready) return;
    let token;
    try {
      token = await accessToken();
    } catch (e) {
      if (e instanceof HubError && e.status === 401) return this.hooks.onFatal?.(e.code);
      // Offline or the hub busy: try again shortly; the socket may still live.
      this.reauthTimer = setTimeout(() => this.reauth(ws), 2000);
      return;
    }
    if (ws !== this.ws) return;
    if (token !== this.token) {
      try {
        await this.request({ type: 'reauth', token });
        this.token = token;
        this.hooks.onReauth?.();
      } catch (e) {
        if (ws !== this.ws) return;
        // Refused (another session, revoked): reconnect with a fresh login state.
        if (e instanceof HubError) this.drop('reauth refused');
        return;
      }
    }
    this.scheduleReauth();
  }

  checkAlive() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const silent = Date.now() - this.lastHeard;
    if (silent > PING_AFTER_MS + PONG_WITHIN_MS) this.drop('no answer');
    else if (silent > PING_AFTER_MS) this.request({ type: 'ping' }).catch(() => {});
  }

  /** Sends a frame (an `id` is added if missing); resolves with its reply. */
  request(frame) {
    if (!this.leader) return this.relay(frame);
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new OfflineError());
    const id = frame.id ?? newId('r');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, null, new OfflineError()), REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...frame, id }));
      this.hooks.onSent?.(frame);
    });
  }

  /** A follower's request, sent by the leader tab on its socket. */
  relay(frame) {
    if (!this.ready || this.held) return Promise.reject(new OfflineError());
    const id = frame.id ?? newId('r');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, null, new OfflineError()), REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer, relayed: true });
      this.tell({ t: 'req', id, frame: { ...frame, id } });
    });
  }

  settle(id, reply, error) {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (error) p.reject(error); else p.resolve(reply);
  }

  failAll(error) {
    for (const id of [...this.pending.keys()]) this.settle(id, null, error);
  }

  /** Drops the current socket (it will be retried unless held or stopped). */
  drop(reason) {
    const ws = this.ws;
    if (!ws) return;
    this.closed(ws, 4999, reason);
    try { ws.close(1000, String(reason).slice(0, 60)); } catch { /* ignore */ }
  }

  closed(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.ready = false;
    clearInterval(this.alive);
    clearTimeout(this.reauthTimer);
    this.failAll(new OfflineError());
    if (this.stopped) return;
    if (code === 4003) {
      this.tell({ t: 'fatal', code: 'account_disabled' });
      return this.hooks.onFatal?.('account_disabled');
    }
    if (code === 4001 || this.tokenRefused) {
      this.tokenRefused = null;
      // The token was refused: get a fresh one before the next attempt.
      accessToken({ force: true })
        .then(() => this.retry(true))
        .catch((e) => {
          if (e instanceof HubError && e.status === 401) this.hooks.onFatal?.(e.code);
          else this.retry();
        });
      return;
    }
    if (this.held) { this.setStatus('held'); return; }
    this.retry(code === 1001);
  }

  retry(soon = false) {
    if (this.stopped || this.held) return;
    const base = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** this.attempt);
    const delay = soon ? 200 + Math.random() * 800 : base / 2 + Math.random() * base / 2;
    this.attempt = Math.min(this.attempt + 1, 10);
    this.retryAt = Date.now() + delay;
    this.setStatus('waiting');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
