import type { Column } from './stats-columns.ts';
import type { StatsReport } from './stats-model.ts';

/**
 * The /stats page's browser code as a real, type-checked function. It runs in the browser only: stats-script.ts
 * ships its source text (`statsClient.toString()`), so it may reference nothing outside its own body but its
 * parameters and browser globals (fetch, setTimeout). Every 2 s it fetches stats.json (relative, so a path
 * prefix in front of the admin port still works) and rebuilds the tables with DOM calls and textContent only,
 * so user-supplied names can never become markup. Mirrors stats-page.ts's server-side render.
 */

/** The few DOM element members the page uses (the project compiles without the DOM lib). */
export interface PageElement {
  textContent: string | null;
  className: string;
  setAttribute(name: string, value: string): void;
  append(...nodes: PageElement[]): void;
  replaceChildren(...nodes: PageElement[]): void;
}

/** The few `document` members the page uses. */
export interface PageDocument {
  createElement(tag: string): PageElement;
  getElementById(id: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
}

type Row = Readonly<Record<string, unknown>>;

/** Starts the refresh loop on `doc` with the shared column lists. Browser-only; see the module comment. */
export function statsClient(
  cols: { route: readonly Column[]; endpoint: readonly Column[] },
  intervalMs: number,
  doc: PageDocument,
): void {
  const h = (tag: string, attrs?: Record<string, unknown>, text?: unknown): PageElement => {
    const e = doc.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  };
  const row = (list: readonly Column[], obj: Row, attrs: Record<string, unknown>): PageElement => {
    const tr = h('tr', attrs);
    for (const [field] of list) {
      const v = obj[field];
      const td = h('td', { 'data-field': field }, v === undefined ? '' : v);
      if (field === 'state') td.className = `st-${String(v)}`;
      tr.append(td);
    }
    return tr;
  };
  const head = (list: readonly Column[]): PageElement => {
    const tr = h('tr');
    for (const [, label, title] of list) tr.append(h('th', { title }, label));
    const thead = h('thead');
    thead.append(tr);
    return thead;
  };
  const byId = (id: string): PageElement => doc.getElementById(id) as PageElement;
  const render = (r: StatsReport): void => {
    byId('version').textContent = String(r.version);
    byId('generated').textContent = r.generatedAt;
    for (const [k, v] of Object.entries(r.totals)) {
      const e = doc.querySelector(`[data-total="${k}"]`);
      if (e) e.textContent = String(v);
    }
    const backends: PageElement[] = [];
    for (const b of r.backends) {
      const t = h('table', { class: 'backend', 'data-backend': b.id });
      t.append(
        h(
          'caption',
          {},
          `Backend ${b.id}  ${b.service}  ${b.balance}${b.affinity ? '  cookie affinity' : ''}`,
        ),
      );
      t.append(head(cols.endpoint));
      const body = h('tbody');
      const summary = { ...b, weight: '', total: '', retries: '', check: '' } as unknown as Row;
      body.append(row(cols.endpoint, summary, { class: 'summary', 'data-kind': 'backend', 'data-id': b.id }));
      for (const e of b.endpoints) {
        const attrs = { 'data-kind': 'endpoint', 'data-backend': b.id, 'data-id': e.id };
        body.append(row(cols.endpoint, e as unknown as Row, attrs));
      }
      t.append(body);
      backends.push(t);
    }
    byId('backends').replaceChildren(...backends);
    const hosts: PageElement[] = [];
    for (const host of r.hosts) {
      const t = h('table', { class: 'host', 'data-host': host.hostname });
      let cap = `Host ${host.hostname}${host.tls ? '  TLS' : ''}`;
      if (host.certificate)
        cap += `  certificate ${host.certificate} expires ${host.certificateExpiresAt || 'unknown'}`;
      t.append(h('caption', {}, cap));
      t.append(head(cols.route));
      const body = h('tbody');
      for (const rt of host.routes)
        body.append(row(cols.route, rt as unknown as Row, { 'data-kind': 'route', 'data-id': rt.id }));
      t.append(body);
      hosts.push(t);
    }
    byId('hosts').replaceChildren(...hosts);
  };
  const status = byId('refresh');
  const tick = async (): Promise<void> => {
    try {
      const res = await fetch('stats.json', { cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      render((await res.json()) as StatsReport);
      status.textContent = `updated ${new Date().toLocaleTimeString()}`;
      status.className = '';
    } catch (err) {
      status.textContent = `refresh failed: ${(err as Error).message}`;
      status.className = 'stale';
    } finally {
      setTimeout(tick, intervalMs);
    }
  };
  setTimeout(tick, intervalMs);
}
