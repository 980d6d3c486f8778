// Actions taken in the console (a chat message, raising or acknowledging an
// alert, acknowledging an SOP) go through this outbox. Each gets an id when
// the user acts; the id is the hub's idempotency key, so sending it again
// after a lost reply stores nothing twice. Items are sent, in order, as soon
// as the link is up, and stay "pending" until the hub confirms.
//
// One outbox per browser, not per tab: every tab of the same user shares it.
// Each item is its own localStorage key (`mpaka.outbox.<user>.<id>`), so a
// tab only ever adds or removes its own key and never writes a list over
// another tab's (which lost messages when two tabs wrote offline). Sending
// happens under one Web Lock per user, re-reading the items inside it, so
// one tab at a time sends; should a tab still see an item another tab has
// just sent (localStorage reaches other tabs a moment later), sending it
// again with the same id is answered `duplicate` and stored once.

import { disk, newId } from './dom.js';
import { api, HubError, OfflineError } from './session.js';

/**
 * An item sent this long after it was written carries `written_at` (the
 * time the user acted), so the hub keeps when it was written beside when
 * it arrived. Only for items marked `stamp` (messages, raising and
 * acknowledging alerts).
 */
const LATE_MS = 5_000;

/** Codes worth retrying later rather than showing as failed. */
const TRANSIENT = new Set(['offline', 'unavailable', 'internal', 'rate_limited', 'token_expired',
  'invalid_token', 'auth_required', 'auth_timeout', 'slow_consumer']);

export class Outbox {
  constructor(user, link) {
    this.prefix = 'mpaka.outbox.' + user.id + '.';
    this.lockName = 'mpaka.outbox.' + user.id;
    this.link = link;
    this.listeners = new Set();
    this.running = false;
    this.again = false;
    this.timer = null;
    this.migrate('mpaka.outbox.' + user.id);
    this.reload();
    // Another tab added, sent or discarded an item.
    this.onStorage = (e) => {
      if (e.key !== null && !e.key.startsWith(this.prefix)) return;
      this.reload();
      for (const fn of this.listeners) { try { fn({ id: e.key?.slice(this.prefix.length) }); } catch (err) { console.error(err); } }
    };
    addEventListener('storage', this.onStorage);
  }

  /** Stops listening to other tabs (logout, language change). */
  stop() {
    removeEventListener('storage', this.onStorage);
    clearTimeout(this.timer);
  }

  /** Items kept by an older console in one shared list move to their own keys. */
  migrate(oldKey) {
    const old = disk.get(oldKey);
    if (!Array.isArray(old)) return;
    for (const item of old) if (item?.id) disk.set(this.prefix + item.id, item);
    disk.del(oldKey);
  }

  /** Reads every item of this user from localStorage, oldest first. */
  reload() {
    const items = [];
    try {
      for (let i = 0; i < localStorage.length; i++) {
        const key = localStorage.key(i);
        if (key?.startsWith(this.prefix)) {
          const item = disk.get(key);
          if (item?.id) items.push(item);
        }
      }
    } catch { /* storage unavailable: keep what we have */ return; }
    items.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : (a.n ?? 0) - (b.n ?? 0)));
    this.items = items;
  }

  onChange(fn) { this.listeners.add(fn); }
  changed(item, reply) {
    if (this.items.some((i) => i.id === item.id)) disk.set(this.prefix + item.id, item);
    else disk.del(this.prefix + item.id);
    for (const fn of this.listeners) { try { fn(item, reply); } catch (e) { console.error(e); } }
  }

  /**
   * Resolves when the hub has answered item `id`: {reply} once stored,
   * {error} if refused. Stays unresolved while the link is down.
   */
  settled(id) {
    return new Promise((resolve) => {
      const fn = (item, reply) => {
        if (item.id !== id) return;
        if (reply) { this.listeners.delete(fn); resolve({ reply }); }
        else if (item.state === 'failed') { this.listeners.delete(fn); resolve({ error: item.error }); }
      };
      this.listeners.add(fn);
    });
  }

  get pending() { return this.items.filter((i) => i.state !== 'failed'); }
  get failed() { return this.items.filter((i) => i.state === 'failed'); }

  /**
   * Queues an action and tries to send it at once.
   * ws:   { via: 'ws', frame: {type, ...}, ... }     (the frame's id is set here)
   * rest: { via: 'rest', method, path, body, ... }   (sent with Idempotency-Key)
   * Other fields (label, channel, text, ref) are for display.
   */
  add(action) {
    const id = newId('op');
    const item = { ...action, id, at: new Date().toISOString(), n: performance.now(), state: 'pending', tries: 0 };
    if (item.frame) item.frame = { ...item.frame, id };
    this.items.push(item);
    this.changed(item);
    this.flush();
    return item;
  }

  discard(id) {
    this.items = this.items.filter((i) => i.id !== id);
    this.changed({ id });
  }

  retry(id) {
    const item = this.items.find((i) => i.id === id);
    if (!item) return;
    item.state = 'pending';
    delete item.error;
    this.changed(item);
    this.flush();
  }

  /**
   * Sends every pending item, one after the other, in the order taken; one
   * tab of the browser at a time (Web Locks where the browser has them).
   */
  async flush() {
    if (this.running) { this.again = true; return; }
    this.running = true;
    clearTimeout(this.timer);
    try {
      await withLock(this.lockName, async () => {
        do {
          this.again = false;
          this.reload();
          for (const item of [...this.pending]) {
            if (!this.items.some((i) => i.id === item.id)) continue;
            const wait = await this.send(item);
            if (wait === 'stop') break;
            if (typeof wait === 'number') { this.timer = setTimeout(() => this.flush(), wait); break; }
          }
        } while (this.again);
      });
    } finally {
      this.running = false;
    }
  }

  async send(item) {
    if (item.via === 'ws' && !this.link.ready) return 'stop';
    item.tries += 1;
    // A device whose clock is well ahead of the hub's is refused
    // (`in_future`): the item then goes without the time it was written.
    const writtenAt = item.stamp && !item.unstamped && Date.now() - Date.parse(item.at) >= LATE_MS ? item.at : null;
    try {
      const reply = item.via === 'ws'
        ? await this.link.request(writtenAt ? { ...item.frame, written_at: writtenAt } : item.frame)
        : await api(item.method, item.path, writtenAt ? { ...(item.body ?? {}), written_at: writtenAt } : item.body,
          { 'idempotency-key': item.id });
      this.items = this.items.filter((i) => i.id !== item.id);
      this.changed(item, reply ?? {});
      return null;
    } catch (e) {
      const code = e instanceof HubError || e instanceof OfflineError ? e.code : 'offline';
      if (writtenAt && code === 'validation_failed' && e.fields?.some((f) => f.field === 'written_at')) {
        item.unstamped = true;
        this.changed(item);
        return this.send(item);
      }
      if (TRANSIENT.has(code)) {
        if (code === 'rate_limited') return e.retryAfterMs ?? 2000;
        if (code === 'offline' && item.via === 'ws') return 'stop';
        return Math.min(30_000, 1000 * 2 ** Math.min(item.tries, 5));
      }
      item.state = 'failed';
      item.error = { code, message: e.message, fields: e.fields ?? [] };
      this.changed(item);
      return null;
    }
  }
}

function withLock(name, fn) {
  if (navigator.locks?.request) return navigator.locks.request(name, fn);
  return fn();
}
