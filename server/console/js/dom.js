// Small DOM helpers: build elements without innerHTML, so text from the hub
// is never parsed as markup.

/** h('button', {class: 'x', onclick: fn}, 'text', child) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k in el && typeof v !== 'string') el[k] = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces every child of `el`. */
export function put(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/**
 * Locales for formatting, per interface language: Kirundi falls back to the
 * Burundian French conventions where the browser has no Kirundi data.
 */
export const LOCALES = { fr: ['fr-BI', 'fr'], en: ['en-GB', 'en'], sw: ['sw-TZ', 'sw'], rn: ['rn-BI', 'fr-BI', 'fr'] };

/**
 * A short date and time for an RFC 3339 string, in the viewer's time zone
 * with its label (Burundi is UTC+2, Tanzania UTC+3: a coordinator reads
 * both), 24-hour, with the relative age ("5 min ago") for recent times.
 */
export function when(iso, lang) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const locales = LOCALES[lang] ?? [lang];
  const today = new Date().toDateString() === d.toDateString();
  const opts = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
    ...(today ? {} : { day: 'numeric', month: 'short' }) };
  let text;
  try { text = new Intl.DateTimeFormat(locales, opts).format(d); } catch { text = d.toLocaleString(); }
  const minutes = Math.round((d.getTime() - Date.now()) / 60_000);
  if (Math.abs(minutes) < 24 * 60) {
    try {
      const rel = new Intl.RelativeTimeFormat(locales, { numeric: 'auto', style: 'short' });
      const age = Math.abs(minutes) < 60 ? rel.format(minutes, 'minute') : rel.format(Math.round(minutes / 60), 'hour');
      text += ` (${age})`;
    } catch { /* no relative format: the time alone */ }
  }
  return text;
}

/**
 * "written 10:05, sent 10:42" for an action composed offline: the time it
 * was written and the time the hub stored it, with seconds when the two
 * fall in the same minute.
 */
export function writtenSent(written, sent, lang, t) {
  const locales = LOCALES[lang] ?? [lang];
  const clock = (iso, seconds) => {
    const d = new Date(iso);
    try {
      return new Intl.DateTimeFormat(locales, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
        ...(seconds ? { second: '2-digit' } : {}) }).format(d);
    } catch { return d.toISOString().slice(11, seconds ? 19 : 16); }
  };
  const same = clock(written, false) === clock(sent, false);
  return t('time.written_sent', { written: clock(written, same), sent: clock(sent, same) });
}

/** A number in the interface language's conventions. */
export function num(n, lang) {
  try { return new Intl.NumberFormat(LOCALES[lang] ?? [lang]).format(n); } catch { return String(n); }
}

/** A random request id: works without a secure context (plain http on a LAN). */
export function newId(prefix = 'c') {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return prefix + '-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** localStorage that never throws (quota, private mode). */
export const disk = {
  get(key, fallback = null) {
    try { const v = localStorage.getItem(key); return v === null ? fallback : JSON.parse(v); } catch { return fallback; }
  },
  set(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); return true; } catch { return false; }
  },
  del(key) { try { localStorage.removeItem(key); } catch { /* ignore */ } },
};
