// Small DOM helpers: build elements without innerHTML, so text from the hub
// is never parsed as markup; and the form helpers shared by the alert and
// SOP screens (labelled fields, the hub's field-level validation messages
// shown next to their fields), here rather than in a file of their own so
// that the landing view costs one request fewer.

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

// Form helpers.

let counter = 0;

/** A labelled control; `field` is the hub's dotted field path. */
export function field(label, control, fieldPath) {
  const id = control.id || (control.id = 'f' + (++counter));
  control.dataset.field = fieldPath ?? '';
  const err = h('p', { class: 'field-error', id: id + '-err', hidden: true });
  control.setAttribute('aria-describedby', err.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, err);
}

export function select(name, options, value) {
  return h('select', { name }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

/**
 * Clears earlier messages, then puts each of `fields` under its control,
 * worded by `describe` (the user's language, from the field's code).
 */
export function showFieldErrors(form, fields, general, describe = (f) => f.message) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.field-error')) { el.hidden = true; el.textContent = ''; }
  general.textContent = '';
  const leftovers = [];
  let first = null;
  for (const f of fields ?? []) {
    const parts = f.field.split('.');
    let control = null;
    while (parts.length && !control) {
      control = form.querySelector(`[data-field="${CSS.escape(parts.join('.'))}"]`);
      parts.pop();
    }
    if (!control) { leftovers.push(`${f.field}: ${describe(f)}`); continue; }
    control.setAttribute('aria-invalid', 'true');
    // A refused field folded away in a disclosure is shown.
    for (let d = control.closest('details'); d; d = d.parentElement?.closest('details')) d.open = true;
    const err = form.querySelector('#' + CSS.escape(control.id + '-err'));
    if (err) { err.hidden = false; err.textContent = (err.textContent ? err.textContent + ' ' : '') + describe(f); }
    first ??= control;
  }
  if (leftovers.length) general.textContent = leftovers.join(' · ');
  first?.focus();
}
