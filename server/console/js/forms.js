// Form helpers shared by the alert and SOP screens: labelled fields, and
// the hub's field-level validation messages shown next to their fields.

import { h } from './dom.js';

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
