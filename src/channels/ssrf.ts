/**
 * The guard against server-side request forgery. The check sits where the socket is made:
 * a literal IP host is checked in the connector, a hostname in the `lookup` that net.connect
 * calls right before connecting, so what is checked is what is connected to (a separate
 * lookup beforehand would be defeated by DNS rebinding). The connector that applies it is in
 * connector.ts, so that the address checks load without the HTTP client.
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

/** The address a request would connect to is not a public unicast address. */
export class BlockedAddressError extends Error {
  override readonly name = 'BlockedAddressError';
  readonly code = 'ERR_ADDRESS_BLOCKED';
  constructor(
    readonly address: string,
    readonly range: string,
  ) {
    super(`refused to connect to ${address} (${range} address)`);
  }
}

/**
 * The range an IP falls in, as ipaddr.js names it ('unicast' for a public address); IPv4-mapped
 * IPv6 addresses are judged as the IPv4 address they carry. `null` when `ip` is not an IP.
 */
export function addressRange(ip: string): string | null {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (!net.isIP(bare.split('%')[0] ?? '')) return null;
  let addr: ipaddr.IPv4 | ipaddr.IPv6 = ipaddr.parse(bare);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  }
  return addr.range();
}

/**
 * True only for public unicast addresses. Everything else is refused: loopback, private
 * (RFC 1918), link-local, unique-local, carrier-grade NAT, unspecified, broadcast, multicast,
 * reserved and documentation ranges, and IPv6 ranges that embed or translate to IPv4 (6to4,
 * Teredo, NAT64), which could lead back to an internal IPv4 host.
 */
export function isPublicAddress(ip: string): boolean {
  return addressRange(ip) === 'unicast';
}

/** The shape of dns.lookup that net.connect calls (with `all: true` under happy eyeballs). */
export type LookupFunction = (
  hostname: string,
  options: dns.LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void,
) => void;

/** Wraps a resolver so that an answer holding any non-public address fails the connect. */
export function guardedLookup(lookup: LookupFunction = dns.lookup as unknown as LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, options, (err, address, family) => {
      if (err) return callback(err, address, family);
      const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
      for (const a of addresses) {
        if (!isPublicAddress(a)) return callback(new BlockedAddressError(a, addressRange(a) ?? 'invalid'), address, family);
      }
      callback(null, address, family);
    });
  };
}
