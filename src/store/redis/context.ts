import { randomBytes } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { StoreChannels } from '../events.js';
import { DEFAULT_PREFIX } from '../prefix.js';
import type { RedisClient } from './client.js';
import { keySpace, type KeySpace, type PartitionKeys, type UserKeys } from './keys.js';
import { defineScripts } from './scripts.js';

export interface RedisStoreOptions {
  /** A connection (one node or a Cluster) the caller owns; the store never closes it. */
  redis: RedisClient;
  /** Newest items kept per inbox. */
  cap: number;
  /** Key prefix, so tests and tenants can share a server. @default DEFAULT_PREFIX */
  prefix?: string;
  /**
   * Where the scripts publish what they commit (realtime/channels.ts names them, with the same
   * prefix); its partition count is the store's (partition.ts).
   */
  channels: StoreChannels;
  /** Replicas every acknowledged write waits for (WAIT after it, on its node). @default 0 */
  waitReplicas?: number;
}

/** How long a write waits for its replicas before it fails (below the command timeout). */
export const WAIT_TIMEOUT_MS = 1000;

/** A write that did not reach the replicas it must (REDIS_WAIT_REPLICAS) in time: retryable. */
export class ReplicaAckError extends Error {
  constructor(want: number, got: number) {
    // The reply code Redis itself uses for min-replicas-to-write (store/unavailable.ts).
    super(`NOREPLICAS the write reached ${got} of ${want} replicas within ${WAIT_TIMEOUT_MS} ms`);
  }
}

/** How commands travel: in as few round trips as the target allows, writes waiting for replicas. */
export interface RedisCommands {
  redis: RedisClient;
  keys: KeySpace;
  /**
   * One command per item, each on the slot of the item's partition (-1: the global slot), in as
   * few round trips as the target allows: one on a single node, one per partition in parallel
   * on a Cluster. Replies in item order (errors thrown). A `write` waits for the replicas.
   */
  batch<I>(items: readonly I[], partitionOf: (item: I) => number, add: (on: ChainableCommander, item: I) => unknown, write?: boolean): Promise<unknown[]>;
  /** One command per partition (`batch` over them), replies in partition order. */
  eachPartition(add: (on: ChainableCommander, partition: PartitionKeys) => unknown, write?: boolean): Promise<unknown[]>;
  /** One command; a `write` waits for the replicas. */
  one<T>(add: (on: ChainableCommander) => unknown, write?: boolean): Promise<T>;
  /** A fresh id for one store call: scripts answer a resend of it with their first reply. */
  requestId(): string;
}

/** What the parts of the Redis store share: the connection, its keys, and how commands travel. */
export interface RedisContext extends RedisCommands {
  cap: number;
  prefix: string;
  channels: StoreChannels;
  /** the KEYS every per-user script starts with (scripts.ts USER_KEYS): the user's, then its partition's */
  userKeys(userId: string): [UserKeys, PartitionKeys];
  /** the ARGV every per-user script starts with */
  userArgv(userId: string, now: number): { now: number; cap: number; userId: string; channel: string };
}

export function redisContext({ redis, cap, prefix = DEFAULT_PREFIX, channels, waitReplicas = 0 }: RedisStoreOptions): RedisContext {
  const keys = keySpace(prefix, channels.partitions);
  return {
    ...redisCommands(redis, keys, waitReplicas),
    cap,
    prefix,
    channels,
    userKeys: (userId) => [keys.user(userId), keys.partitionOf(userId)],
    userArgv: (userId, now) => ({ now, cap, userId, channel: channels.user(userId) }),
  };
}

export function redisCommands(redis: RedisClient, keys: KeySpace, waitReplicas: number): RedisCommands {
  defineScripts(redis);
  const parts = Array.from({ length: keys.partitions }, (_, n) => keys.partition(n));
  const direct = redis as unknown as ChainableCommander;
  const cluster = redis.isCluster;

  /** A pipeline's replies, after WAIT for the replicas (which every pipeline here ends with). */
  const replicated = async (pipeline: ChainableCommander): Promise<unknown[]> => {
    pipeline.wait(waitReplicas, WAIT_TIMEOUT_MS);
    const out = ((await pipeline.exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    const got = Number(out.pop());
    if (got < waitReplicas) throw new ReplicaAckError(waitReplicas, got);
    return out;
  };

  const one = async <T>(add: (on: ChainableCommander) => unknown, write = false): Promise<T> => {
    // Building a pipeline costs ~50 µs, more than the command: only when WAIT must follow it.
    if (!(write && waitReplicas > 0)) return (await add(direct)) as T;
    const pipeline = redis.pipeline();
    add(pipeline);
    return (await replicated(pipeline))[0] as T;
  };

  const batch = async <I>(items: readonly I[], partitionOf: (item: I) => number, add: (on: ChainableCommander, item: I) => unknown, write = false): Promise<unknown[]> => {
    if (items.length === 0) return [];
    if (items.length === 1) return [await one((on) => add(on, items[0]!), write)];
    // Without WAIT, plain commands: sent in one turn, they leave together without a pipeline's
    // cost (on one node the connection writes a turn's commands at once, coalesce-commands.ts;
    // a Cluster client auto-pipelines them per node).
    if (!(write && waitReplicas > 0)) return Promise.all(items.map((item) => add(direct, item)));
    if (!cluster) {
      const pipeline = redis.pipeline();
      for (const item of items) add(pipeline, item);
      return replicated(pipeline);
    }
    // A Cluster pipeline must stay in one slot: group by partition.
    const groups = new Map<number, number[]>();
    items.forEach((item, i) => {
      const p = partitionOf(item);
      const g = groups.get(p);
      if (g) g.push(i);
      else groups.set(p, [i]);
    });
    const out = new Array<unknown>(items.length);
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        const pipeline = redis.pipeline();
        for (const i of indexes) add(pipeline, items[i]!);
        const got = await replicated(pipeline);
        indexes.forEach((i, k) => (out[i] = got[k]));
      }),
    );
    return out;
  };

  // Unique without a random draw per call: a random prefix per process (72 bits), then a count.
  const ridPrefix = randomBytes(9).toString('base64url');
  let ridCount = 0;

  return {
    redis,
    keys,
    batch,
    eachPartition: (add, write) => batch(parts, (p) => p.partition, add, write),
    one,
    requestId: () => ridPrefix + (ridCount++).toString(36),
  };
}
