// What this browser knows, per user: recent events per channel, the highest
// sequence number processed (where the socket resumes), and the current
// state of alerts and SOPs derived from their events. Kept in localStorage
// so a reload, even offline, shows the same picture and resumes where it
// stopped.

import { disk } from './dom.js';

/** Events kept per channel in the browser. */
const KEEP_PER_CHANNEL = 150;

export class Store {
  constructor(user) {
    this.key = 'mpaka.cache.' + user.id;
    const saved = disk.get(this.key, {});
    this.lastSeq = saved.lastSeq ?? null;
    // The hub's log epoch lastSeq belongs to: sequence numbers of another
    // epoch (a restored, older database) mean nothing.
    this.epoch = saved.epoch ?? null;
    this.channels = new Map(Object.entries(saved.channels ?? {}));
    this.alerts = new Map(Object.entries(saved.alerts ?? {}));
    this.sops = new Map(Object.entries(saved.sops ?? {}));
    this.acked = new Set(saved.acked ?? []);
    this.read = new Set(saved.read ?? []);
    this.notices = saved.notices ?? [];
    this.grants = saved.grants ?? [];
    this.listeners = new Set();
    this.timer = null;
    // A reload or a closed tab within the save delay would lose the last changes.
    addEventListener('pagehide', () => { if (this.timer) this.save(); });
  }

  /** fn(kind, detail) is called after every change. */
  subscribe(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }

  emit(kind, detail) {
    for (const fn of this.listeners) { try { fn(kind, detail); } catch (e) { console.error(e); } }
    this.saveSoon();
  }

  saveSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.save(), 300);
  }

  save() {
    clearTimeout(this.timer);
    const all = {
      lastSeq: this.lastSeq,
      epoch: this.epoch,
      channels: Object.fromEntries(this.channels),
      alerts: Object.fromEntries(this.alerts),
      sops: Object.fromEntries(this.sops),
      acked: [...this.acked],
      read: [...this.read],
      notices: this.notices.slice(-50),
      grants: this.grants,
    };
    if (!disk.set(this.key, all)) {
      // Over quota: keep fewer events rather than lose the resume point.
      for (const [k, v] of this.channels) this.channels.set(k, v.slice(-30));
      disk.set(this.key, { ...all, channels: Object.fromEntries(this.channels) });
    }
  }

  /** Keeps the epoch of the log this cache follows. */
  setEpoch(epoch) {
    if (this.epoch !== epoch) { this.epoch = epoch; this.saveSoon(); }
  }

  /**
   * The hub's log is another epoch (restored to an older point): forget
   * the resume point and everything derived from the old log; the next
   * subscribe reloads recent history.
   */
  resync(epoch) {
    this.epoch = epoch;
    this.lastSeq = null;
    this.channels.clear();
    this.alerts.clear();
    this.sops.clear();
    for (const kind of ['grants', 'alerts', 'sops']) this.emit(kind);
    this.save();
  }

  setGrants(grants) { this.grants = grants; this.emit('grants'); }

  events(channel) { return this.channels.get(channel) ?? []; }

  /** Adds one event from the hub; false if it was already known. */
  add(event) {
    const list = this.channels.get(event.channel) ?? [];
    if (list.some((e) => e.seq === event.seq)) return false;
    list.push(event);
    if (list.length > 1 && list[list.length - 2].seq > event.seq) list.sort((a, b) => a.seq - b.seq);
    if (list.length > KEEP_PER_CHANNEL) list.splice(0, list.length - KEEP_PER_CHANNEL);
    this.channels.set(event.channel, list);
    if (this.lastSeq === null || event.seq > this.lastSeq) this.lastSeq = event.seq;
    this.derive(event);
    this.emit('event', event);
    return true;
  }

  /** Older events from `history`, newest first as the hub sends them. */
  addOlder(channel, events) {
    const list = this.channels.get(channel) ?? [];
    const known = new Set(list.map((e) => e.seq));
    for (const e of events) if (!known.has(e.seq)) list.push(e);
    list.sort((a, b) => a.seq - b.seq);
    this.channels.set(channel, list);
    this.emit('history', channel);
  }

  derive(event) {
    const body = event.body;
    if (event.kind.startsWith('alert.') && body?.alert) {
      const prev = this.alerts.get(body.alert.id);
      if (!prev || prev.version <= body.alert.version) this.putAlert(body.alert);
    } else if (event.kind === 'sop.published') {
      const prev = this.sops.get(body.slug);
      if (!prev || (prev.current_version ?? 0) <= body.version) {
        this.sops.set(body.slug, {
          slug: body.slug, owner: body.owner, titles: body.titles, state: 'published',
          current_version: body.version, updated_at: body.published_at, fresh: true, audience: body.audience,
        });
      }
    } else if (event.kind === 'sop.retired') {
      const prev = this.sops.get(body.slug);
      if (prev) this.sops.set(body.slug, { ...prev, state: 'retired' });
    } else if (event.kind === 'sop.reminder') {
      this.notices.push({ seq: event.seq, at: event.at, kind: event.kind, body });
    }
  }

  putAlert(alert) { this.alerts.set(alert.id, alert); }

  setAlerts(list) {
    for (const a of list) {
      const prev = this.alerts.get(a.id);
      if (!prev || prev.version <= a.version) this.alerts.set(a.id, a);
    }
    this.emit('alerts');
  }

  setSops(list) {
    const seen = new Set();
    for (const s of list) {
      // The list does not say who a version is addressed to; keep what an
      // event or the reader told us about the same version, or a reader
      // outside the audience would be asked to acknowledge it again.
      const prev = this.sops.get(s.slug);
      const same = prev && prev.current_version === s.current_version;
      this.sops.set(s.slug, same ? { ...s, audience: prev.audience, in_audience: prev.in_audience, in_audience_v: prev.in_audience_v } : s);
      seen.add(s.slug);
    }
    for (const slug of [...this.sops.keys()]) if (!seen.has(slug)) this.sops.delete(slug);
    this.emit('sops');
  }

  markAcked(slug, version) { this.acked.add(slug + '@' + version); this.emit('sops'); }
  isAcked(slug, version) { return this.acked.has(slug + '@' + version); }
  markRead(slug, version) { this.read.add(slug + '@' + version); this.emit('sops'); }
  isRead(slug, version) { return this.read.has(slug + '@' + version); }
}
