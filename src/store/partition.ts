/**
 * Users are spread over a fixed number of partitions; everything a per-user script touches
 * carries its partition's hash tag `{p:N}`, so each script runs on one Redis Cluster slot
 * (docs/redis-layout.md, "Redis Cluster"). The count is fixed for the life of a data set: the
 * layout stamp (keys.ts layoutKey) records it.
 */

export const DEFAULT_PARTITIONS = 16;
/** Partition N of P takes the sub-millisecond slots N, N + P, … of ids.lua: 64 leaves each 16 a millisecond. */
export const MAX_PARTITIONS = 64;

/** FNV-1a (32 bit) of the id's UTF-16 code units, mod `partitions`: stable across processes and releases. */
export function partitionOf(userId: string, partitions: number): number {
  if (partitions === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
