// Placeholder until the providers land (validated and masked for real there).
import type { ExternalChannel } from './provider.js';
export class AddressError extends Error {}
export function validateAddress(channel: ExternalChannel, address: string, _opts: { allowPrivate: boolean }): string {
  const a = address.trim();
  if (!a || a.length > 2048) throw new AddressError(`${channel} address must be 1-2048 characters`);
  return a;
}
export function maskAddress(channel: ExternalChannel, address: string): string {
  if (channel === 'TELEGRAM') return address;
  return `…${address.slice(-4)}`;
}
