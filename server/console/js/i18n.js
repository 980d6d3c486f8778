// Interface text in French, English, Swahili and Kirundi, one file per
// language in lang/, loaded on demand. A key missing from a loaded
// dictionary falls back along the language's chain (Kirundi → French →
// English, Swahili → English) among those loaded, then to the key itself.
// The login page's own few strings live here, in all four languages, so
// that the page before login loads no dictionary: a browser whose language
// differs from the user's then fetches one dictionary (the user's), not two.

export const LANGS = [['fr', 'Français'], ['en', 'English'], ['sw', 'Kiswahili'], ['rn', 'Ikirundi']];
const CHAIN = { fr: ['fr', 'en'], en: ['en'], sw: ['sw', 'en'], rn: ['rn', 'fr', 'en'] };

/** The supported language closest to a BCP 47 tag. */
export function pickLang(tag) {
  const base = String(tag || '').toLowerCase().split('-')[0];
  return CHAIN[base] ? base : 'fr';
}

/**
 * The strings of the login page (and the errors a login can meet), kept out
 * of the dictionaries in lang/ (the i18n tests read both).
 */
const LOGIN = {
  fr: {
    "app.tagline": "Coordination frontalière · Burundi ⇄ Tanzanie",
    "login.username": "Nom d'utilisateur",
    "login.password": "Mot de passe",
    "login.submit": "Se connecter",
    "login.offline": "Le hub est injoignable. Vérifiez la liaison et réessayez.",
    "login.expired": "Votre session a pris fin. Reconnectez-vous.",
    "login.disabled": "Ce compte est désactivé.",
    "err.invalid_credentials": "Nom d'utilisateur ou mot de passe incorrect.",
    "err.account_disabled": "Ce compte est désactivé.",
    "err.too_many_attempts": "Trop de tentatives : réessayez dans {s} s.",
    "err.rate_limited": "Trop de demandes : patientez un instant.",
    "err.unavailable": "Le hub est occupé : réessayez dans un instant.",
    "err.internal": "Le hub a rencontré un problème : réessayez plus tard.",
    "err.challenge_expired": "Cette connexion a pris trop de temps. Reconnectez-vous.",
  },
  en: {
    "app.tagline": "Border coordination hub · Burundi ⇄ Tanzania",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Log in",
    "login.offline": "The hub cannot be reached. Check the link and try again.",
    "login.expired": "Your session has ended. Please log in again.",
    "login.disabled": "This account is disabled.",
    "err.invalid_credentials": "Wrong username or password.",
    "err.account_disabled": "This account is disabled.",
    "err.too_many_attempts": "Too many attempts: try again in {s} s.",
    "err.rate_limited": "Too many requests: wait a moment.",
    "err.unavailable": "The hub is busy: try again in a moment.",
    "err.internal": "The hub had a problem: try again later.",
    "err.challenge_expired": "This login took too long. Please log in again.",
  },
  sw: {
    "app.tagline": "Kituo cha uratibu wa mpakani · Burundi ⇄ Tanzania",
    "login.username": "Jina la mtumiaji",
    "login.password": "Nenosiri",
    "login.submit": "Ingia",
    "login.offline": "Kituo hakipatikani. Angalia mtandao ujaribu tena.",
    "login.expired": "Muda wa kikao umeisha. Tafadhali ingia tena.",
    "login.disabled": "Akaunti hii imezimwa.",
    "err.invalid_credentials": "Jina la mtumiaji au nenosiri si sahihi.",
    "err.account_disabled": "Akaunti hii imezimwa.",
    "err.too_many_attempts": "Majaribio mengi mno: jaribu tena baada ya sekunde {s}.",
    "err.rate_limited": "Maombi mengi mno: subiri kidogo.",
    "err.unavailable": "Kituo kina shughuli nyingi: jaribu tena baada ya muda mfupi.",
    "err.internal": "Kituo kimepata tatizo: jaribu tena baadaye.",
    "err.challenge_expired": "Kuingia huku kumechukua muda mrefu. Tafadhali ingia tena.",
  },
  rn: {
    "app.tagline": "Ihuriro ry'imbibe · Uburundi ⇄ Tanzaniya",
    "login.username": "Izina ry'ukoresha",
    "login.password": "Ijambo ry’ibanga",
    "login.submit": "Injira",
    "login.offline": "Ihuriro ntirishikirwa. Raba umurongo hanyuma usubire ugerageze.",
    "login.expired": "Umwanya wawe warangiye. Subira winjire.",
    "login.disabled": "Iyi konte yarahagaritswe.",
    "err.invalid_credentials": "Izina canke ijambo ry'ibanga si vyo.",
    "err.account_disabled": "Iyi konte yarahagaritswe.",
    "err.too_many_attempts": "Ukugerageza ni kwinshi cane: subira ugerageze mu masegonda {s}.",
    "err.rate_limited": "Ibisabwa ni vyinshi cane: rindira gatoyi.",
    "err.unavailable": "Ihuriro rirahuze: subira ugerageze haciye akanya.",
    "err.internal": "Ihuriro ryagize ingorane: subira ugerageze mu nyuma.",
    "err.challenge_expired": "Kwinjira vyatwaye umwanya munini. Subira winjire.",
  },
};

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
    const s = (dict && ((plural && (dict[key + '#' + plural] ?? dict[key + '#other'])) ?? dict[key])) ?? LOGIN[l][key];
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
