/**
 * Checks that every script call passes keys of one Redis Cluster slot: wraps the script commands
 * of a client and of its pipelines, records each call whose KEYS span two slots and throws.
 */
import type { Cluster, Redis } from 'ioredis';
import { scriptKeyCounts } from '../../src/store/redis/scripts.js';

/** CRC16/XMODEM, as Redis Cluster uses it. */
function crc16(s: string): number {
  let crc = 0;
  for (const byte of Buffer.from(s)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The cluster slot of a key (hash tags: the part between the first { and the next }, if not empty). */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(key) % 16384;
}

export interface SlotGuard {
  /** calls whose keys span several slots: "script: key1 (slot), key2 (slot)" */
  violations: string[];
  /** script calls checked so far */
  checked: number;
}

/** Wraps `client`'s script commands (define them first: createRedisStore does). */
export function guardSlots(client: Redis | Cluster): SlotGuard {
  const guard: SlotGuard = { violations: [], checked: 0 };
  const counts = scriptKeyCounts();
  const wrap = (target: Record<string, unknown>) => {
    for (const [name, n] of counts) {
      const original = target[name] as ((...a: unknown[]) => unknown) | undefined;
      if (typeof original !== 'function' || (original as { guarded?: boolean }).guarded) continue;
      const wrapped = function (this: unknown, ...args: unknown[]) {
        guard.checked++;
        const keys = args.slice(0, n).map(String);
        const slots = new Set(keys.map(keySlot));
        if (slots.size > 1) {
          const v = `${name}: ${keys.map((k) => `${k} (${keySlot(k)})`).join(', ')}`;
          guard.violations.push(v);
          throw new Error(`script called with keys of ${slots.size} slots: ${v}`);
        }
        return original.apply(this, args);
      };
      (wrapped as { guarded?: boolean }).guarded = true;
      target[name] = wrapped;
    }
  };
  const c = client as unknown as Record<string, unknown> & { pipeline(...a: unknown[]): Record<string, unknown> };
  wrap(c);
  const pipeline = c.pipeline.bind(client);
  c.pipeline = (...a: unknown[]) => {
    const p = pipeline(...a);
    wrap(p);
    return p;
  };
  return guard;
}
