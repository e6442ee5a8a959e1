/**
 * Reference point, not a product: the product Dataplane alone in its own process (no CLI, no controller, no
 * observer) serving the bench's TLS host, so a plain-HTTP request gets the 308: what the request path costs
 * over node-hello's floor without the rest of `serve`. Usage: node bench/lib/node-dp.ts PORT BACKEND...
 */
import { Dataplane } from '../../src/dataplane/dataplane.ts';
import { buildSnapshot } from '../../test/dataplane/helpers/snapshot.ts';
import { TLS_HOST } from './configs.ts';
import { benchDataplaneOptions } from './dataplane-options.ts';

const [port, ...backends] = process.argv.slice(2).map(Number);
const dp = new Dataplane({ ...benchDataplaneOptions(), httpPort: port as number });
await dp.start();
dp.apply(
  buildSnapshot({
    hosts: [{ hostname: TLS_HOST, tls: true, routes: [{ backend: 'fast' }] }],
    backends: [{ id: 'fast', endpoints: backends }],
  }),
);
process.on('SIGTERM', () => process.exit(0));
