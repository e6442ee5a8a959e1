import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import type { z } from 'zod';
import { UsageError } from '../src/shared/errors.ts';
import { envName, flagName, type ServeConfig, serveSchema } from './config.ts';
import { settingHelp } from './help.ts';

/** The command line of one subcommand after parsing: settings, positionals, extra flags, help/version. */
export interface ParsedCommand<K extends keyof ServeConfig> {
  settings: Pick<ServeConfig, K>;
  positionals: string[];
  extra: Record<string, string | string[] | undefined>;
  help: boolean;
  version: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses argv and env once for the given settings (a flag wins over its env var), then validates them with
 * the serve schema. Throws UsageError naming the flag or env var and the allowed form.
 */
export function parseCommand<K extends keyof ServeConfig>(
  argv: readonly string[],
  env: Env,
  keys: readonly K[],
  extraOptions: ParseArgsOptionsConfig = {},
): ParsedCommand<K> {
  const options: ParseArgsOptionsConfig = {
    ...extraOptions,
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  };
  for (const key of keys) options[flagName(key).slice(2)] = { type: 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; see --help`);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const settings = resolveSettings(keys, values, env);
  const extra: Record<string, string | string[] | undefined> = {};
  for (const name of Object.keys(extraOptions)) extra[name] = values[name] as string | string[] | undefined;
  return {
    settings,
    positionals: parsed.positionals,
    extra,
    help: values.help === true,
    version: values.version === true,
  };
}

function resolveSettings<K extends keyof ServeConfig>(
  keys: readonly K[],
  values: Record<string, unknown>,
  env: Env,
): Pick<ServeConfig, K> {
  const input: Record<string, string> = {};
  const from: Record<string, string> = {};
  for (const key of keys) {
    const flag = values[flagName(key).slice(2)];
    const fromEnv = env[envName(key)];
    if (typeof flag === 'string') {
      input[key] = flag;
      from[key] = flagName(key);
    } else if (fromEnv !== undefined && fromEnv !== '') {
      input[key] = fromEnv;
      from[key] = `env ${envName(key)}`;
    }
  }
  const mask = Object.fromEntries(keys.map((k) => [k, true])) as Parameters<typeof serveSchema.pick>[0];
  const schema = serveSchema.pick(mask) as unknown as z.ZodType<Pick<ServeConfig, K>>;
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = String(issue.path[0]) as K;
    const source = from[key] ?? flagName(key);
    const value = input[key];
    return `invalid ${source}${value === undefined ? '' : ` ${JSON.stringify(value)}`}: expected ${settingHelp[key].form} (${issue.message})`;
  });
  throw new UsageError(lines.join('\n'));
}
