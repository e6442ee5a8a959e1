import { dumpYaml } from '@kubernetes/client-node';
import { convertIngresses } from '../src/controller/convert/ingress-to-gateway.ts';
import { parseCommand } from './args.ts';
import { type Io, loadOnce, singleDir } from './check.ts';
import { helpText } from './help.ts';

/**
 * `sticky-ingress convert DIR [--gateway-class NAME] [--gateway-name NAME]`: the Ingresses of a manifest folder
 * as Gateway + HTTPRoute YAML on stdout; what cannot be carried, one line per object and field, on stderr.
 * Resolves to 0 (1 when the folder had unreadable files).
 */
export async function runConvert(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const cmd = parseCommand(argv, env, [], {
    'gateway-class': { type: 'string' },
    'gateway-name': { type: 'string' },
  });
  if (cmd.help) {
    io.out(helpText('convert'));
    return 0;
  }
  const dir = singleDir(cmd.positionals, 'convert');
  const load = await loadOnce(dir);
  for (const p of load.problems) io.err(`${p.file}: ${p.object ? `${p.object}: ` : ''}${p.message}`);
  const options: { gatewayClassName?: string; gatewayName?: string } = {};
  if (typeof cmd.extra['gateway-class'] === 'string') options.gatewayClassName = cmd.extra['gateway-class'];
  if (typeof cmd.extra['gateway-name'] === 'string') options.gatewayName = cmd.extra['gateway-name'];
  const { objects, notes } = convertIngresses(load.view.ingresses, {
    ...options,
    services: load.view.services,
  });
  io.out(objects.map((o) => dumpYaml(o)).join('---\n'));
  for (const n of notes) io.err(`not carried: ${n.object}${n.field ? ` ${n.field}` : ''}: ${n.message}`);
  return load.problems.length > 0 ? 1 : 0;
}
