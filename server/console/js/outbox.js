// Actions taken in the console (a chat message, raising or acknowledging an
// alert, acknowledging an SOP) go through this outbox. Each gets an id when
// the user acts; the id is the hub's idempotency key, so sending it again
// after a lost reply stores nothing twice. The outbox lives in localStorage:
// a reload or a power cut loses nothing, and items are sent, in order, as
// soon as the link is up. Items stay "pending" until the hub confirms.

import { disk, newId } from './dom.js';
import { api, HubError, OfflineError } from './api.js';

/** Codes worth retrying later rather than showing as failed. */
const TRANSIENT = new Set(['offline', 'unavailable', 'internal', 'rate_limited', 'token_expired',
  'invalid_token', 'auth_required', 'auth_timeout', 'slow_consumer']);

export class Outbox {
  constructor(user, link) {
    this.key = 'mpaka.outbox.' + user.id;
    this.items = disk.get(this.key, []);
    this.link = link;
    this.listeners = new Set();
    this.running = false;
    this.again = false;
    this.timer = null;
  }

  onChange(fn) { this.listeners.add(fn); }
  changed(item, reply) {
    disk.set(this.key, this.items);
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
    const item = { ...action, id, at: new Date().toISOString(), state: 'pending', tries: 0 };
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

  /** Sends every pending item, one after the other, in the order taken. */
  async flush() {
    if (this.running) { this.again = true; return; }
    this.running = true;
    clearTimeout(this.timer);
    try {
      do {
        this.again = false;
        for (const item of [...this.pending]) {
          if (!this.items.includes(item)) continue;
          const wait = await this.send(item);
          if (wait === 'stop') break;
          if (typeof wait === 'number') { this.timer = setTimeout(() => this.flush(), wait); break; }
        }
      } while (this.again);
    } finally {
      this.running = false;
    }
  }

  async send(item) {
    if (item.via === 'ws' && !this.link.ready) return 'stop';
    item.tries += 1;
    try {
      const reply = item.via === 'ws'
        ? await this.link.request(item.frame)
        : await api(item.method, item.path, item.body, { 'idempotency-key': item.id });
      this.items = this.items.filter((i) => i !== item);
      this.changed(item, reply ?? {});
      return null;
    } catch (e) {
      const code = e instanceof HubError || e instanceof OfflineError ? e.code : 'offline';
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
