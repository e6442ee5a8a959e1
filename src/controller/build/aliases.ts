import { X509Certificate } from 'node:crypto';
import type { Draft, VirtualHost } from '../../snapshot/types.ts';
import type { AliasClaim, BuildContext } from './context.ts';
import { ANY_HOST, normalizeHost } from './hostname.ts';
import { asArray, compareRank, compareStrings, isRecord, type ObjectRef, type Rank } from './meta.ts';

/**
 * `server-alias` hosts: each alias is a copy of its target host (same routes, redirects and passthrough),
 * `aliasOf` naming the target. An alias that is a host some Ingress or StickyRoute defines (any namespace,
 * the same object too), or one an older claim took, is dropped with a Warning naming both objects, as
 * ingress-nginx drops aliases that collide with server names: a tenant cannot take a host through an alias.
 * Over TLS the alias gets its target's certificate when that certificate covers it, else the default one
 * (ingress-nginx configures an alias's certificate only when the server's certificate is valid for it).
 */
export function aliasHosts(
  ctx: BuildContext,
  hosts: readonly VirtualHost[],
  defined: ReadonlyMap<string, ObjectRef>,
): VirtualHost[] {
  const byName = new Map(hosts.map((h) => [h.hostname, h]));
  const taken = new Map<string, AliasClaim>();
  const out: VirtualHost[] = [];
  const claims = [...ctx.aliases].sort(
    (a, b) => compareRank(a.rank, b.rank) || compareStrings(a.alias, b.alias),
  );
  for (const claim of claims) {
    const owner = defined.get(claim.alias);
    const earlier = taken.get(claim.alias);
    const target = byName.get(claim.host);
    let problem: string | undefined;
    if (owner !== undefined) {
      problem = `is a host of ${describe(owner)}`;
    } else if (earlier !== undefined) {
      problem = `is already an alias of ${earlier.host} from ${describe(earlier.owner)}`;
    } else if (target === undefined || target.redirectTo !== undefined) {
      problem = `aliases ${claim.host}, which serves nothing`;
    }
    if (problem !== undefined || target === undefined) {
      const message = `server alias ${claim.alias} of ${describe(claim.owner)} dropped: it ${problem}`;
      ctx.report(claim.owner, { severity: 'Warning', reason: 'AliasConflict', message, field: claim.field });
      continue;
    }
    taken.set(claim.alias, claim);
    out.push(aliasHost(ctx, claim.alias, target));
  }
  return out;
}

function aliasHost(ctx: BuildContext, alias: string, target: VirtualHost): VirtualHost {
  const host: Draft<VirtualHost> = { hostname: alias, routes: target.routes, aliasOf: target.hostname };
  if (target.tls !== undefined) {
    const id = target.tls.certificate;
    host.tls = id !== undefined && covers(ctx, id, alias) ? { certificate: id } : {};
  }
  if (target.passthrough !== undefined) host.passthrough = { backend: target.passthrough.backend };
  // The same alias with the same content is the same object as last build (compile reuses it by identity).
  const seen = ctx.cache.hosts.get(alias);
  if (
    seen !== undefined &&
    seen.aliasOf === host.aliasOf &&
    seen.routes === host.routes &&
    seen.tls?.certificate === host.tls?.certificate &&
    (seen.tls === undefined) === (host.tls === undefined) &&
    seen.passthrough?.backend === host.passthrough?.backend
  ) {
    return seen;
  }
  return host;
}

// X.509 name matching (RFC 6125: SAN dNSName, one-label wildcards) by Node's checkHost.
function covers(ctx: BuildContext, id: string, alias: string): boolean {
  const cert = ctx.certificates.get(id);
  if (cert === undefined) return false;
  let parsed = ctx.cache.x509.get(cert);
  if (parsed === undefined) {
    try {
      parsed = new X509Certificate(cert.certPem);
    } catch {
      parsed = null;
    }
    ctx.cache.x509.set(cert, parsed);
  }
  return parsed !== null && parsed.checkHost(alias) !== undefined;
}

function describe(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}

/**
 * ingress-nginx attaches an Ingress's aliases to the server of its first rule with a host; assemble() settles
 * collisions once every object has spoken (an alias never takes a host any object defines).
 */
export function claimAliases(
  ctx: BuildContext,
  ref: ObjectRef,
  rank: Rank,
  spec: Record<string, unknown>,
  aliases: readonly string[],
): void {
  if (aliases.length === 0) return;
  const field = 'metadata.annotations["nginx.ingress.kubernetes.io/server-alias"]';
  const host = asArray<unknown>(spec.rules)
    .map((rule) => (isRecord(rule) ? normalizeHost(rule.host) : undefined))
    .find((h) => h !== undefined && h !== ANY_HOST);
  if (host === undefined) {
    const message = `server-alias ignored: the Ingress has no rule with a host to alias`;
    ctx.report(ref, { severity: 'Warning', reason: 'AliasIgnored', message, field });
    return;
  }
  for (const alias of aliases) {
    ctx.addAlias({ alias, host, owner: ref, rank, field });
  }
}
