import { isIP } from 'node:net';
import { InvalidOptionError } from '../shared/errors.ts';
import type { DataplaneOptions } from './dataplane.ts';
import { tlsGroupsProblem } from './front/tls-context.ts';

/** Rejects bad Dataplane options at construction (InvalidOptionError, code STICKY_ERR_OPTION_INVALID). */
export function validateOptions(o: DataplaneOptions): void {
  if (o === null || typeof o !== 'object')
    throw new InvalidOptionError('dataplane', 'options', 'expected an object');
  if (typeof o.bindAddress !== 'string' || (o.bindAddress !== 'localhost' && isIP(o.bindAddress) === 0)) {
    throw new InvalidOptionError(
      'dataplane',
      'bindAddress',
      `expected an IP address, got ${JSON.stringify(o.bindAddress)}`,
    );
  }
  port(o.httpPort, 'httpPort');
  port(o.httpsPort, 'httpsPort');
  if (o.publicHttpsPort !== undefined) port(o.publicHttpsPort, 'publicHttpsPort');
  if (o.publicHttpPort !== undefined) port(o.publicHttpPort, 'publicHttpPort');
  if (!Buffer.isBuffer(o.affinityKey) || o.affinityKey.length < 16) {
    throw new InvalidOptionError('dataplane', 'affinityKey', 'expected a Buffer of at least 16 bytes');
  }
  if (!Array.isArray(o.trustedProxies))
    throw new InvalidOptionError('dataplane', 'trustedProxies', 'expected an array of CIDRs');
  int(o.maxHeaderSize, 'maxHeaderSize', 1024, 1_048_576);
  int(o.requestHeaderTimeoutMs, 'requestHeaderTimeoutMs', 1, 3_600_000);
  int(o.keepAliveTimeoutMs, 'keepAliveTimeoutMs', 1, 3_600_000);
  if (o.maxClientConnections !== undefined) int(o.maxClientConnections, 'maxClientConnections', 1, 1_000_000);
  if (o.maxTunnels !== undefined) int(o.maxTunnels, 'maxTunnels', 0, 1_000_000);
  if (o.maxUpstreamConnections !== undefined) {
    int(o.maxUpstreamConnections, 'maxUpstreamConnections', 1, 100_000);
  }
  if (o.http2MaxConcurrentStreams !== undefined) {
    int(o.http2MaxConcurrentStreams, 'http2MaxConcurrentStreams', 1, 10_000);
  }
  if (o.upstreamClient !== undefined && o.upstreamClient !== 'raw' && o.upstreamClient !== 'undici') {
    throw new InvalidOptionError(
      'dataplane',
      'upstreamClient',
      `expected raw or undici, got ${String(o.upstreamClient)}`,
    );
  }
  if (o.tlsGroups !== undefined) {
    const problem = typeof o.tlsGroups === 'string' ? tlsGroupsProblem(o.tlsGroups) : 'expected a string';
    if (problem !== undefined) throw new InvalidOptionError('dataplane', 'tlsGroups', problem);
  }
  if (o.ticketKeyWindowMs !== undefined) int(o.ticketKeyWindowMs, 'ticketKeyWindowMs', 1_000, 86_400_000);
  proxyProtocol(o);
  if (o.reclaimMemory !== undefined && typeof o.reclaimMemory !== 'function')
    throw new InvalidOptionError('dataplane', 'reclaimMemory', 'expected a function');
  if (o.reclaimPolicy !== undefined) {
    int(o.reclaimPolicy.minDrop, 'reclaimPolicy.minDrop', 1, 1_000_000);
    int(o.reclaimPolicy.quietMs, 'reclaimPolicy.quietMs', 1, 3_600_000);
    int(o.reclaimPolicy.minIntervalMs, 'reclaimPolicy.minIntervalMs', 0, 86_400_000);
  }
  if (o.logger === null || typeof o.logger !== 'object' || typeof o.logger.info !== 'function') {
    throw new InvalidOptionError('dataplane', 'logger', 'expected a pino logger');
  }
  if (o.observer !== undefined && typeof o.observer?.onRequest !== 'function') {
    throw new InvalidOptionError(
      'dataplane',
      'observer',
      'expected an object with onRequest() and onTunnelClose()',
    );
  }
}

function port(v: unknown, name: string): void {
  int(v, name, 0, 65535);
}

function int(v: unknown, name: string, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidOptionError(
      'dataplane',
      name,
      `expected an integer in ${min}..${max}, got ${String(v)}`,
    );
  }
}

const PROXY_MODES: ReadonlySet<unknown> = new Set(['off', 'strict', 'optional']);

/** PROXY protocol on a listener needs someone to believe: an empty trusted list would close every peer. */
function proxyProtocol(o: DataplaneOptions): void {
  const modes = [o.proxyProtocol?.http, o.proxyProtocol?.https];
  for (const m of modes) {
    if (m !== undefined && !PROXY_MODES.has(m)) {
      throw new InvalidOptionError(
        'dataplane',
        'proxyProtocol',
        `expected off, strict or optional, got ${String(m)}`,
      );
    }
  }
  const on = modes.some((m) => m !== undefined && m !== 'off');
  const trusted = o.proxyProtocolTrusted;
  if (trusted !== undefined && !Array.isArray(trusted)) {
    throw new InvalidOptionError('dataplane', 'proxyProtocolTrusted', 'expected an array of CIDRs');
  }
  if (on && (trusted === undefined || trusted.length === 0)) {
    throw new InvalidOptionError(
      'dataplane',
      'proxyProtocolTrusted',
      'PROXY protocol is on but no source is trusted',
    );
  }
}
