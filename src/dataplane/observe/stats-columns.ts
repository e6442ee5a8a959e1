/**
 * The columns of the /stats tables, shared by the server-side render and the page's refresh script (which
 * receives them as JSON), so both produce the same cells: [field of the stats.json object, heading, title].
 */
export type Column = readonly [field: string, heading: string, title: string];

export const ROUTE_COLUMNS: readonly Column[] = [
  ['path', 'Path', 'Route path'],
  ['pathType', 'Type', 'Path type'],
  ['source', 'Source', 'Object the route came from'],
  ['backend', 'Backend', 'Backend id'],
  ['requests', 'Req', 'Requests and tunnels finished'],
  ['rps', 'Req/s', 'Requests per second'],
  ['errors', '5xx', 'Responses with status 500..599'],
  ['lastStatus', 'Last', 'Status of the last response'],
];

export const ENDPOINT_COLUMNS: readonly Column[] = [
  ['id', 'Name', 'Endpoint id (backend row: backend id)'],
  ['state', 'State', 'UP, DOWN (unhealthy or not ready), DRAIN (terminating)'],
  ['weight', 'Wt', 'Weight'],
  ['active', 'Act', 'In-flight requests and open tunnels'],
  ['total', 'Tot', 'Requests and tunnels started since the endpoint appeared'],
  ['openTunnels', 'Tun', 'Open WebSocket tunnels'],
  ['requests', 'Req', 'Requests and tunnels finished through this backend'],
  ['rps', 'Req/s', 'Requests per second'],
  ['errors', '5xx', 'Responses with status 500..599'],
  ['connectFailures', 'Conn err', 'Failed connects'],
  ['retries', 'Retr', 'Requests retried elsewhere after a failed try (proxy-next-upstream)'],
  ['lastStatus', 'Last', 'Status of the last response'],
  ['check', 'Check', 'Health: passing / failing (active check), ejected (passive), none'],
  ['stickyIssued', 'Sticky', 'Affinity cookies issued (new + reissued)'],
];
