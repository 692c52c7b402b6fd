/**
 * The webhook connections' connector: undici's, with the address check of ssrf.ts in its
 * connect step (a literal IP here, a hostname in the lookup net.connect calls).
 */
import net from 'node:net';
import { buildConnector } from 'undici';
import { addressRange, BlockedAddressError, guardedLookup, isPublicAddress, type LookupFunction } from './ssrf.js';

export interface ConnectorOptions {
  /** refuse non-public addresses (false with WEBHOOK_ALLOW_PRIVATE=true) */
  guard: boolean;
  /** @default 10_000 */
  connectTimeoutMs?: number;
  /** the resolver; tests pass one that maps a name to loopback @default dns.lookup */
  lookup?: LookupFunction;
}

/** An undici `connect` function with the address check in its connect step. */
export function createConnector({ guard, connectTimeoutMs = 10_000, lookup }: ConnectorOptions): buildConnector.connector {
  const resolve = guard ? guardedLookup(lookup) : lookup;
  const connect = buildConnector({ timeout: connectTimeoutMs, ...(resolve ? { lookup: resolve } : {}) });
  if (!guard) return connect;
  return (options, callback) => {
    // net.connect skips the lookup for a literal IP, so a literal is checked here
    const host = options.hostname.startsWith('[') ? options.hostname.slice(1, -1) : options.hostname;
    if (net.isIP(host) && !isPublicAddress(host)) {
      callback(new BlockedAddressError(host, addressRange(host) ?? 'invalid'), null);
      return;
    }
    connect(options, callback);
  };
}
