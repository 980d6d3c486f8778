// The auditor's view of the verifiable log: the newest signed checkpoint
// (size, signed time, the note itself to copy and keep) and the verifier's
// verdict on the whole record, with the first difference when there is one.

import { h, put, when } from './dom.js';

export function renderLog(ctx, main) {
  const { t } = ctx;
  const verdict = h('div', { id: 'log-verdict', 'aria-live': 'polite' }, t('log.checking'));
  const checkpoint = h('div', { id: 'log-checkpoint' });
  put(main, h('section', { class: 'log' },
    h('h2', {}, t('log.title')),
    verdict,
    h('h3', {}, t('log.checkpoint')),
    checkpoint));

  async function load() {
    try {
      const [report, list] = await Promise.all([
        ctx.get('/api/v1/log/verify'),
        ctx.get('/api/v1/log/checkpoints?after=0&limit=1000'),
      ]);
      const latest = list[list.length - 1];
      put(verdict,
        h('p', { class: report.intact ? 'ok' : 'error', id: 'log-intact' },
          report.intact ? t('log.intact') : t('log.broken')),
        h('p', {}, t('log.entries', { entries: report.entries, events: report.events, audit: report.audit_entries })),
        h('p', {}, t('log.checked', { count: report.checkpoints.length })),
        report.first_difference ? h('p', { class: 'error', id: 'log-first' }, t('log.first'), ' ', report.first_difference) : '');
      put(checkpoint, latest
        ? [h('p', {}, t('log.size', { size: latest.size }), ' · ', when(latest.at, ctx.lang)),
           h('pre', { id: 'log-note' }, latest.note)]
        : h('p', { class: 'muted' }, t('log.none')));
    } catch (error) {
      put(verdict, h('p', { class: 'error' }, error.message || String(error)));
    }
  }
  load();
}
