// SOPs: placeholder until the hub's SOP routes land.
import { h, put } from './dom.js';

export function renderSops(ctx, main) {
  put(main, h('section', {}, h('h2', {}, ctx.t('nav.sops')), h('p', { class: 'muted' }, ctx.t('feature.missing'))));
}
