// The user's own account: the second factor (enrolling an authenticator
// app with a QR code, the recovery codes shown once) and changing one's
// password. The enrolment form is also used by the login screen when the
// user's role requires a second factor not yet set up.

import { h, put } from './dom.js';
import { api } from './session.js';
import { errorText } from './i18n.js';

/**
 * The enrolment steps: a button to start, then the QR code (an SVG image
 * from the hub, shown as an image so it cannot run script), the secret for
 * typing in by hand, a code field; once confirmed, the recovery codes.
 * `flow` is { start() → enrolment, confirm(code) → recovery codes };
 * `done()` runs when the user has noted the codes.
 */
export function enrolForm(t, lang, flow, done) {
  const box = h('div', { class: 'enrol', id: 'enrol' });
  const error = h('p', { class: 'error', id: 'enrol-error', role: 'alert' });
  const startButton = h('button', { type: 'button', id: 'enrol-start', onclick: start }, t('account.totp_start'));
  put(box, h('p', {}, t('account.totp_intro')), error, startButton);

  async function start() {
    startButton.disabled = true;
    error.textContent = '';
    let enrolment;
    try {
      enrolment = await flow.start();
    } catch (e) {
      startButton.disabled = false;
      error.textContent = errorText(lang, e);
      return;
    }
    const code = h('input', { id: 'enrol-code', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code',
      pattern: '[0-9]{6}', maxlength: '6', required: true });
    const confirm = h('button', { type: 'submit', id: 'enrol-confirm' }, t('account.totp_confirm'));
    const form = h('form', { id: 'enrol-form', onsubmit: async (e) => {
      e.preventDefault();
      confirm.disabled = true;
      error.textContent = '';
      try {
        showCodes(await flow.confirm(code.value.trim()));
      } catch (err) {
        confirm.disabled = false;
        error.textContent = errorText(lang, err);
        code.select();
      }
    } },
    h('p', {}, t('account.totp_scan')),
    h('img', { class: 'qr', id: 'enrol-qr', alt: t('account.totp_qr_alt'), width: 240, height: 240,
      src: 'data:image/svg+xml;base64,' + btoa(enrolment.qr_svg) }),
    h('p', {}, t('account.totp_manual'), ' ', h('code', { id: 'enrol-secret' }, enrolment.secret)),
    h('label', { for: 'enrol-code' }, t('account.totp_code')), code,
    error, confirm);
    put(box, form);
    code.focus();
  }

  function showCodes(codes) {
    const ok = h('button', { type: 'button', id: 'enrol-done', onclick: () => done() }, t('account.codes_noted'));
    put(box,
      h('p', { role: 'status' }, t('account.totp_enabled')),
      h('p', {}, t('account.codes_intro')),
      h('ol', { class: 'recovery-codes', id: 'recovery-codes' }, codes.map((c) => h('li', {}, h('code', {}, c)))),
      ok);
    ok.focus();
  }
  return box;
}

/** The account view (#/account). */
export function renderAccount(ctx, main) {
  const { t, lang } = ctx;
  const factor = h('section', { class: 'card', id: 'account-totp', 'aria-labelledby': 'account-totp-title' },
    h('h2', { id: 'account-totp-title' }, t('account.totp_title')));
  const password = passwordForm(t, lang);
  put(main, h('h1', {}, t('account.title')), factor, password);

  async function drawFactor() {
    let status;
    try {
      status = await api('GET', '/api/v1/me/second-factor');
    } catch (e) {
      put(factor, h('h2', { id: 'account-totp-title' }, t('account.totp_title')), h('p', { class: 'error' }, errorText(lang, e)));
      return;
    }
    const title = h('h2', { id: 'account-totp-title' }, t('account.totp_title'));
    if (status.enabled) {
      put(factor, title,
        h('p', { id: 'totp-status', dataset: { state: 'enabled' } }, t('account.totp_on')),
        h('p', {}, t('account.codes_left', { n: status.recovery_codes_left })));
      return;
    }
    put(factor, title,
      h('p', { id: 'totp-status', dataset: { state: 'off' } }, status.required ? t('account.totp_required') : t('account.totp_off')),
      enrolForm(t, lang, {
        start: () => api('POST', '/api/v1/me/second-factor', {}),
        confirm: async (code) => (await api('POST', '/api/v1/me/second-factor/confirm', { code })).recovery_codes,
      }, drawFactor));
  }
  drawFactor();
  return null;
}

function passwordForm(t, lang) {
  const current = h('input', { id: 'pw-current', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: 'pw-new', type: 'password', autocomplete: 'new-password', required: true, minlength: '10' });
  const again = h('input', { id: 'pw-again', type: 'password', autocomplete: 'new-password', required: true });
  const message = h('p', { id: 'pw-message', role: 'status' });
  const button = h('button', { type: 'submit', id: 'pw-submit' }, t('account.pw_submit'));
  return h('form', { class: 'card', id: 'account-password', 'aria-labelledby': 'account-pw-title', onsubmit: async (e) => {
    e.preventDefault();
    message.className = '';
    message.textContent = '';
    delete message.dataset.state;
    if (next.value !== again.value) {
      message.className = 'error';
      message.dataset.state = 'error';
      message.textContent = t('account.pw_mismatch');
      again.select();
      return;
    }
    button.disabled = true;
    try {
      await api('POST', '/api/v1/me/password', { current_password: current.value, new_password: next.value });
      current.value = next.value = again.value = '';
      message.dataset.state = 'changed';
      message.textContent = t('account.pw_changed');
    } catch (err) {
      message.className = 'error';
      message.dataset.state = 'error';
      message.textContent = errorText(lang, err);
    } finally {
      button.disabled = false;
    }
  } },
  h('h2', { id: 'account-pw-title' }, t('account.pw_title')),
  h('label', { for: 'pw-current' }, t('account.pw_current')), current,
  h('label', { for: 'pw-new' }, t('account.pw_new')), next,
  h('label', { for: 'pw-again' }, t('account.pw_again')), again,
  message, button);
}
