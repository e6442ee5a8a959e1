import { statsClient } from './stats-client.ts';
import { ENDPOINT_COLUMNS, ROUTE_COLUMNS } from './stats-columns.ts';

/**
 * The page's refresh script: the source of the type-checked statsClient() (stats-client.ts) called with the
 * shared column lists and the interval. Inlined in the page, so the admin port serves a single document.
 */
export function statsScript(intervalMs: number): string {
  const cols = JSON.stringify({ route: ROUTE_COLUMNS, endpoint: ENDPOINT_COLUMNS });
  return `(${statsClient.toString()})(${cols}, ${Number(intervalMs)}, document);`;
}
