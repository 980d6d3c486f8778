// Interface text in French, English, Swahili and Kirundi, one file per
// language in lang/, loaded on demand. A key missing from a loaded
// dictionary falls back along the language's chain (Kirundi → French →
// English, Swahili → English) among those loaded, then to the key itself.

export const LANGS = [['fr', 'Français'], ['en', 'English'], ['sw', 'Kiswahili'], ['rn', 'Ikirundi']];
const CHAIN = { fr: ['fr', 'en'], en: ['en'], sw: ['sw', 'en'], rn: ['rn', 'fr', 'en'] };

/** The supported language closest to a BCP 47 tag. */
export function pickLang(tag) {
  const base = String(tag || '').toLowerCase().split('-')[0];
  return CHAIN[base] ? base : 'fr';
}

const PLURAL_LOCALES = { fr: ['fr'], en: ['en'], sw: ['sw'], rn: ['rn', 'fr'] };

/**
 * Text for `key` in `lang`, with {name} placeholders filled from `vars`.
 * When `vars.n` is a number and the language has `key#one` / `key#other`
 * (Intl.PluralRules categories), the matching form is used.
 */
export function tr(lang, key, vars) {
  let plural = null;
  if (typeof vars?.n === 'number') {
    try { plural = new Intl.PluralRules(PLURAL_LOCALES[lang] ?? [lang]).select(vars.n); } catch { plural = null; }
  }
  for (const l of CHAIN[lang] ?? CHAIN.en) {
    const dict = D[l];
    if (!dict) continue;
    const s = (plural && (dict[key + '#' + plural] ?? dict[key + '#other'])) ?? dict[key];
    if (s !== undefined) return vars ? s.replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? '') : s;
  }
  return key;
}

/**
 * An error from the hub (or the link) in the user's language, from its
 * stable code; the hub's English message only when the code is unknown here.
 */
export function errorText(lang, error) {
  if (!error) return '';
  const key = 'err.' + (error.code ?? 'internal');
  const text = tr(lang, key, { s: Math.max(1, Math.ceil((error.retryAfterMs ?? error.retry_after_ms ?? 1000) / 1000)) });
  return text === key ? (error.message || key) : text;
}

/**
 * One field problem from the hub's `validation_failed`, in the user's
 * language, from its stable `code` and `params` (numbers formatted the
 * local way); the hub's English message for `invalid` or a code unknown here.
 */
export function fieldErrorText(lang, f) {
  const key = 'fe.' + (f?.code ?? 'invalid');
  const vars = {};
  for (const [k, v] of Object.entries(f?.params ?? {})) {
    vars[k] = typeof v === 'number' ? new Intl.NumberFormat(PLURAL_LOCALES[lang] ?? [lang]).format(v)
      : k === 'unit' ? tr(lang, 'unit.' + v) : String(v);
  }
  const text = f?.code && f.code !== 'invalid' ? tr(lang, key, vars) : key;
  return text === key ? (f?.message || key) : text;
}

/** The loaded dictionaries, by language. */
const D = {};

/**
 * Loads the dictionary of `lang` (one file per language, so a page carries
 * one language, not four). Every dictionary is complete (a test checks),
 * so the fallback chain only matters while a file is still loading.
 */
export async function loadLang(lang) {
  const l = CHAIN[lang] ? lang : 'fr';
  if (!D[l]) D[l] = (await import(`./lang/${l}.js`)).default;
  return l;
}
