import { ENDPOINT_COLUMNS, ROUTE_COLUMNS } from './stats-columns.ts';

/**
 * The page's refresh script: every 2 s it fetches stats.json (relative, so a path prefix in front of the
 * admin port still works) and rebuilds the tables with DOM calls and textContent only, so user-supplied
 * names can never become markup. Mirrors stats-page.ts's server-side render.
 */
export function statsScript(intervalMs: number): string {
  const cols = JSON.stringify({ route: ROUTE_COLUMNS, endpoint: ENDPOINT_COLUMNS });
  return `(() => {
const COLS = ${cols};
const INTERVAL = ${Number(intervalMs)};
const h = (tag, attrs, text) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
};
const row = (cols, obj, attrs) => {
  const tr = h('tr', attrs);
  for (const [field] of cols) {
    const v = obj[field];
    const td = h('td', { 'data-field': field }, v === undefined ? '' : v);
    if (field === 'state') td.className = 'st-' + String(v);
    tr.append(td);
  }
  return tr;
};
const head = (cols) => {
  const tr = h('tr');
  for (const [, label, title] of cols) tr.append(h('th', { title }, label));
  const thead = h('thead');
  thead.append(tr);
  return thead;
};
const render = (r) => {
  document.getElementById('version').textContent = String(r.version);
  document.getElementById('generated').textContent = r.generatedAt;
  for (const [k, v] of Object.entries(r.totals)) {
    const e = document.querySelector('[data-total="' + k + '"]');
    if (e) e.textContent = String(v);
  }
  const backends = [];
  for (const b of r.backends) {
    const t = h('table', { class: 'backend', 'data-backend': b.id });
    t.append(h('caption', {}, 'Backend ' + b.id + '  ' + b.service + '  ' + b.balance + (b.affinity ? '  cookie affinity' : '')));
    t.append(head(COLS.endpoint));
    const body = h('tbody');
    body.append(row(COLS.endpoint, { ...b, weight: '', total: '', retries: '', check: '' }, { class: 'summary', 'data-kind': 'backend', 'data-id': b.id }));
    for (const e of b.endpoints) body.append(row(COLS.endpoint, e, { 'data-kind': 'endpoint', 'data-backend': b.id, 'data-id': e.id }));
    t.append(body);
    backends.push(t);
  }
  document.getElementById('backends').replaceChildren(...backends);
  const hosts = [];
  for (const host of r.hosts) {
    const t = h('table', { class: 'host', 'data-host': host.hostname });
    let cap = 'Host ' + host.hostname + (host.tls ? '  TLS' : '');
    if (host.certificate) cap += '  certificate ' + host.certificate + ' expires ' + (host.certificateExpiresAt || 'unknown');
    t.append(h('caption', {}, cap));
    t.append(head(COLS.route));
    const body = h('tbody');
    for (const rt of host.routes) body.append(row(COLS.route, rt, { 'data-kind': 'route', 'data-id': rt.id }));
    t.append(body);
    hosts.push(t);
  }
  document.getElementById('hosts').replaceChildren(...hosts);
};
const status = document.getElementById('refresh');
const tick = async () => {
  try {
    const res = await fetch('stats.json', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    render(await res.json());
    status.textContent = 'updated ' + new Date().toLocaleTimeString();
    status.className = '';
  } catch (err) {
    status.textContent = 'refresh failed: ' + err.message;
    status.className = 'stale';
  } finally {
    setTimeout(tick, INTERVAL);
  }
};
setTimeout(tick, INTERVAL);
})();`;
}
