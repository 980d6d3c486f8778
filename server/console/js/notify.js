// What arrives while the user looks elsewhere or is offline: unread counts
// on the tabs, the channels and in the page title; a persistent banner (and
// a vibration and tones where the device allows) for severe and extreme alerts
// addressed to this user, until acknowledged or dismissed; a "while you
// were away" list after an outage instead of a pile of toasts; and nothing
// at all for the history a first login replays.

import { h, put, disk } from './dom.js';

const PAGED = new Set(['severe', 'extreme']);

export class Notices {
  /** els: { banner, away, toast(text) }; postName(slug) names a post. */
  constructor(ctx, els, postName) {
    this.ctx = ctx;
    this.els = els;
    this.postName = postName;
    // A browser that has never synced replays old history: no noise for it.
    this.first = ctx.store.lastSeq === null;
    this.view = { name: null, channel: null };
    this.unreadAlerts = new Set();
    this.unreadChannels = new Map();
    this.awayAlerts = [];
    this.awayMessages = 0;
    this.dismissKey = 'mpaka.dismissed.' + ctx.user.id;
    this.dismissed = new Set(disk.get(this.dismissKey, []));
    this.paged = new Set();
    this.baseTitle = document.title.replace(/^\(\d+\)\s*/, '');
  }

  /** The socket finished a (re)subscription: replay is over. */
  ready() {
    if (!this.first && (this.awayAlerts.length || this.awayMessages)) this.drawAway();
    this.first = false;
    this.drawBanner(false);
  }

  /** The user opened view `name` (and, for channels, `channel`). */
  seen(name, channel = null) {
    this.view = { name, channel };
    if (name === 'alerts') this.unreadAlerts.clear();
    if (name === 'channels' && channel) this.unreadChannels.delete(channel);
    this.drawCounts();
  }

  /** An event from the hub, live (`link.ready`) or replayed. */
  event(ev) {
    const { user, link } = this.ctx;
    if (ev.author?.id === user.id) return;
    const live = link.ready;
    if (ev.kind === 'alert.raised' && ev.body?.alert) {
      const a = ev.body.alert;
      if (!this.first) {
        if (this.view.name !== 'alerts') this.unreadAlerts.add(a.id);
        if (!live) this.awayAlerts.push(a);
        else if (!this.pageable(a)) this.els.toast(this.ctx.t('alert.new_toast', { post: this.postName(a.post) }));
      }
    } else if (ev.kind === 'message' && !this.first) {
      const here = this.view.name === 'channels' && this.view.channel === ev.channel;
      if (!here && !ev.channel.startsWith('user:')) {
        this.unreadChannels.set(ev.channel, (this.unreadChannels.get(ev.channel) ?? 0) + 1);
      }
      if (!live) this.awayMessages += 1;
    }
    if (ev.kind.startsWith('alert.')) this.drawBanner(live && !this.first);
    this.drawCounts();
  }

  unreadIn(channel) { return this.unreadChannels.get(channel) ?? 0; }

  /** Open, severe or extreme, from the other side, not yet acknowledged by us. */
  pageable(a) {
    const { user } = this.ctx;
    if (a.state !== 'open' || !PAGED.has(a.severity) || a.status !== 'actual') return false;
    if (!['officer', 'coordinator'].includes(user.role) || a.country === user.country) return false;
    return !a.acknowledgements?.some((x) => x.by.id === user.id
      || (user.post ? x.by.post === user.post : x.by.country === user.country));
  }

  drawBanner(alarm) {
    const { t, store } = this.ctx;
    const list = [...store.alerts.values()].filter((a) => this.pageable(a) && !this.dismissed.has(a.id));
    const fresh = list.filter((a) => !this.paged.has(a.id));
    for (const a of list) this.paged.add(a.id);
    if (alarm && fresh.length) {
      try { navigator.vibrate?.([300, 150, 300, 150, 300]); } catch { /* not allowed */ }
      beep();
    }
    const { banner } = this.els;
    banner.hidden = !list.length;
    // Redraw only when the list changed: a screen reader announces every redraw.
    const signature = list.map((a) => a.id + a.severity + a.kind).join();
    if (signature === this.bannerSignature) return;
    this.bannerSignature = signature;
    put(banner, list.map((a) => h('p', { class: 'page ' + a.severity, dataset: { alert: a.id } },
      h('a', { href: '#/alerts/' + encodeURIComponent(a.id) },
        h('b', {}, t('sev.' + a.severity)), ' · ', t('kind.' + a.kind), ' · ', this.postName(a.post)),
      h('button', { type: 'button', class: 'secondary', onclick: () => this.dismiss(a.id) }, t('page.dismiss')))));
  }

  dismiss(id) {
    this.dismissed.add(id);
    disk.set(this.dismissKey, [...this.dismissed].slice(-200));
    this.drawBanner(false);
  }

  drawAway() {
    const { t } = this.ctx;
    const { away } = this.els;
    const alerts = this.awayAlerts;
    put(away,
      h('h2', { id: 'away-title' }, t('away.title')),
      alerts.length ? h('ul', {}, alerts.map((a) => h('li', {}, h('a', { href: '#/alerts/' + encodeURIComponent(a.id) },
        t('sev.' + a.severity), ' · ', t('kind.' + a.kind), ' · ', this.postName(a.post))))) : null,
      this.awayMessages ? h('p', {}, t('away.messages', { n: this.awayMessages })) : null,
      h('button', { type: 'button', id: 'away-dismiss', class: 'secondary', onclick: () => {
        this.awayAlerts = [];
        this.awayMessages = 0;
        away.hidden = true;
      } }, t('page.dismiss')));
    away.hidden = false;
  }

  drawCounts() {
    const alerts = this.unreadAlerts.size;
    let messages = 0;
    for (const n of this.unreadChannels.values()) messages += n;
    badge(document.querySelector('#nav-alerts'), alerts);
    badge(document.querySelector('#nav-channels'), messages);
    const total = alerts + messages;
    document.title = total ? `(${total}) ${this.baseTitle}` : this.baseTitle;
    this.onCounts?.();
  }
}

/** Three short tones, where the browser lets the page play sound. */
function beep() {
  try {
    const audio = new AudioContext();
    for (let i = 0; i < 3; i++) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.2;
      tone.connect(gain).connect(audio.destination);
      tone.start(audio.currentTime + i * 0.35);
      tone.stop(audio.currentTime + i * 0.35 + 0.2);
    }
    setTimeout(() => audio.close(), 1500);
  } catch { /* no audio here */ }
}

function badge(el, n) {
  if (!el) return;
  let b = el.querySelector('.count');
  if (!n) { b?.remove(); return; }
  if (!b) { b = h('span', { class: 'badge bad count' }); el.append(' ', b); }
  b.textContent = String(n);
}
