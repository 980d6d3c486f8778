// Alerts: placeholder until the hub's alert routes land.
import { h, put } from './dom.js';

export function renderAlerts(ctx, main) {
  put(main, h('section', {}, h('h2', {}, ctx.t('nav.alerts')), h('p', { class: 'muted' }, ctx.t('feature.missing'))));
}
