import { type Column, ENDPOINT_COLUMNS, ROUTE_COLUMNS } from './stats-columns.ts';
import type { BackendStats, HostStats, StatsReport } from './stats-model.ts';
import { statsScript } from './stats-script.ts';

/** How often the page refetches stats.json. */
const REFRESH_MS = 2000;

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML content and double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

const CSS = `
body{font:13px/1.4 system-ui,sans-serif;margin:12px;color:#111;background:#fafafa}
h1{font-size:18px;margin:0 0 4px}
.meta{margin:0 0 12px;color:#444}.meta b{color:#111}
#refresh.stale{color:#b00;font-weight:bold}
h2{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:0 0 14px;min-width:60%;background:#fff}
caption{text-align:left;font-weight:bold;padding:4px 6px;background:#4a5a7a;color:#fff;white-space:pre}
th{background:#d8dde8;font-weight:600;padding:2px 6px;text-align:right}
td{padding:2px 6px;border-bottom:1px solid #e4e4e4;text-align:right;font-variant-numeric:tabular-nums}
th:first-child,td:first-child{text-align:left}
tr.summary td{font-weight:bold;background:#eef1f6}
td.st-UP,tr.summary td.st-UP{background:#c8f0c0}td.st-DOWN,tr.summary td.st-DOWN{background:#f6b4b4}
td.st-DRAIN,tr.summary td.st-DRAIN{background:#bcd3f5}
.empty{color:#777;font-style:italic}
`;

function cells(cols: readonly Column[], obj: Record<string, unknown>): string {
  let out = '';
  for (const [field] of cols) {
    const v = obj[field];
    const cls = field === 'state' ? ` class="st-${escapeHtml(v)}"` : '';
    out += `<td data-field="${field}"${cls}>${escapeHtml(v)}</td>`;
  }
  return out;
}

function head(cols: readonly Column[]): string {
  return `<thead><tr>${cols.map(([, label, title]) => `<th title="${escapeHtml(title)}">${escapeHtml(label)}</th>`).join('')}</tr></thead>`;
}

function backendTable(b: BackendStats): string {
  const caption = `Backend ${b.id}  ${b.service}  ${b.balance}${b.affinity ? '  cookie affinity' : ''}`;
  const summary = { ...b, weight: '', total: '', retries: '', check: '' } as unknown as Record<
    string,
    unknown
  >;
  let rows = `<tr class="summary" data-kind="backend" data-id="${escapeHtml(b.id)}">${cells(ENDPOINT_COLUMNS, summary)}</tr>`;
  for (const e of b.endpoints) {
    rows += `<tr data-kind="endpoint" data-backend="${escapeHtml(b.id)}" data-id="${escapeHtml(e.id)}">${cells(ENDPOINT_COLUMNS, e as unknown as Record<string, unknown>)}</tr>`;
  }
  return `<table class="backend" data-backend="${escapeHtml(b.id)}"><caption>${escapeHtml(caption)}</caption>${head(ENDPOINT_COLUMNS)}<tbody>${rows}</tbody></table>`;
}

function hostTable(host: HostStats): string {
  let caption = `Host ${host.hostname}${host.tls ? '  TLS' : ''}`;
  if (host.certificate)
    caption += `  certificate ${host.certificate} expires ${host.certificateExpiresAt ?? 'unknown'}`;
  let rows = '';
  for (const r of host.routes) {
    rows += `<tr data-kind="route" data-id="${escapeHtml(r.id)}">${cells(ROUTE_COLUMNS, r as unknown as Record<string, unknown>)}</tr>`;
  }
  return `<table class="host" data-host="${escapeHtml(host.hostname)}"><caption>${escapeHtml(caption)}</caption>${head(ROUTE_COLUMNS)}<tbody>${rows}</tbody></table>`;
}

function total(report: StatsReport, key: keyof StatsReport['totals'], label: string): string {
  return `${escapeHtml(label)} <b data-total="${key}">${escapeHtml(report.totals[key])}</b>`;
}

/**
 * The /stats page: one self-contained HTML document (inline CSS and script, no external resources) with the
 * current report rendered server-side, every value HTML-escaped, then refreshed in place from stats.json.
 */
export function renderStatsPage(report: StatsReport): string {
  const t = (k: keyof StatsReport['totals'], label: string) => total(report, k, label);
  const backends = report.backends.map(backendTable).join('') || '<p class="empty">no backends</p>';
  const hosts = report.hosts.map(hostTable).join('') || '<p class="empty">no hosts</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>sticky-ingress stats</title><style>${CSS}</style></head>
<body>
<h1>sticky-ingress statistics</h1>
<p class="meta">snapshot <b id="version">${escapeHtml(report.version)}</b> · generated <b id="generated">${escapeHtml(report.generatedAt)}</b> · <span id="refresh">refresh every ${REFRESH_MS / 1000} s</span></p>
<p class="meta">${t('requests', 'requests')} · ${t('rps', 'req/s')} · ${t('errors', '5xx')} · ${t('active', 'active')} · ${t('openTunnels', 'tunnels')} · ${t('unrouted', 'unrouted')} · ${t('tlsHandshakes', 'TLS handshakes')} · ${t('tlsFailures', 'TLS failures')}</p>
<h2>Backends</h2><div id="backends">${backends}</div>
<h2>Hosts</h2><div id="hosts">${hosts}</div>
<script>${statsScript(REFRESH_MS)}</script>
</body></html>
`;
}
