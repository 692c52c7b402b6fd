/**
 * Opening connections to where Redis is: one node (REDIS_URL) or a Redis Cluster
 * (REDIS_CLUSTER_NODES). Above this module the code is the same for both: it takes a
 * {@link RedisClient}.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisClient } from './client.js';
import { coalesceCommands } from './coalesce-commands.js';

/** One seed of a Redis Cluster. */
export interface RedisNode {
  host: string;
  port: number;
}

/** Where Redis is. */
export type RedisTarget = { kind: 'single'; url: string } | { kind: 'cluster'; nodes: RedisNode[] };

/** The configured target; null: no Redis (the memory backend). */
export function redisTarget(c: { redisUrl: string | null; redisClusterNodes: RedisNode[] | null }): RedisTarget | null {
  if (c.redisUrl) return { kind: 'single', url: c.redisUrl };
  if (c.redisClusterNodes) return { kind: 'cluster', nodes: c.redisClusterNodes };
  return null;
}

/** How the target reads in a message ("redis://***@db:6379", or the seeds); never a password. */
export function describeTarget(target: RedisTarget): string {
  return target.kind === 'single' ? target.url.replace(/\/\/[^@/]*@/, '//***@') : `the Redis Cluster at ${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

/**
 * What a connection is for:
 * - `commands`: the store's commands and PUBLISH. Once ready, a command fails at once while its
 *   node is away and at the latest after `commandTimeoutMs`, so a request answers
 *   SERVICE_UNAVAILABLE instead of hanging; a queued command would outlive its timeout and still
 *   run when Redis returns, so a send answered SERVICE_UNAVAILABLE (and retried) would be stored
 *   twice. Commands of one turn leave in one write: on one node coalesce-commands.ts corks the
 *   socket for the turn, on a Cluster commands are auto-pipelined per node.
 * - `subscriber`: SUBSCRIBE for the global channels (topics, dashboard); waits by design.
 * - `shard-subscriber`: SSUBSCRIBE for the sharded channels; on a Cluster one subscriber
 *   connection per shard (ioredis `shardedSubscribers`).
 * - `blocking`: blocking reads (the outbox's XREADGROUP BLOCK); waits by design.
 * - `job`: a job worker's own connection (a few retries, no timeout: a job is not a request).
 */
export type ConnectionRole = 'commands' | 'subscriber' | 'shard-subscriber' | 'blocking' | 'job';

export interface ConnectOptions {
  role: ConnectionRole;
  /** CLIENT SETNAME: `notifications:NAME` @default role */
  name?: string;
  /** `commands`: REDIS_COMMAND_TIMEOUT_MS once connected. @default none */
  commandTimeoutMs?: number;
}

/** Retries of a command while its connection is away, before it fails (the single node's reconnects). */
const MAX_RETRIES_PER_REQUEST = 3;
/**
 * Cluster: how long a command waits before it is sent again after its node dropped, and how often
 * the slot map is read again meanwhile. With ioredis's 16 redirections this bounds a command
 * during a failover to about 1.6 s (then it fails); the commands connection's timeout is the
 * tighter bound.
 */
const CLUSTER_RETRY_DELAY_MS = 100;
/**
 * Cluster: the slot map is also read again this often, so connections that send nothing (the
 * shard subscriber) learn about a failover they did not witness.
 */
const SLOTS_REFRESH_MS = 2000;

/** Opens a connection to `target`; the caller owns it (quit/disconnect) and listens for 'error'. */
export function connectRedis(target: RedisTarget, { role, name = role, commandTimeoutMs }: ConnectOptions): RedisClient {
  const redisOptions: RedisOptions = { maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST, connectionName: `notifications:${name}` };
  const failFast = role === 'commands';
  if (target.kind === 'single') {
    const r = new Redis(target.url, redisOptions);
    // Start-up's own check bounds the first connection; from then on, fail fast.
    if (failFast) r.once('ready', () => Object.assign(r.options, { commandTimeout: commandTimeoutMs, enableOfflineQueue: false }));
    if (role === 'commands') coalesceCommands(r);
    return r;
  }
  const options: ClusterOptions = {
    // A node's connection carries the timeout from the start: commands wait in the Cluster's own
    // queue (not the node's) until the slot map is known, and start-up's check bounds that.
    redisOptions: failFast ? { ...redisOptions, commandTimeout: commandTimeoutMs } : redisOptions,
    enableAutoPipelining: role === 'commands',
    shardedSubscribers: role === 'shard-subscriber',
    retryDelayOnFailover: CLUSTER_RETRY_DELAY_MS,
    retryDelayOnClusterDown: CLUSTER_RETRY_DELAY_MS,
    retryDelayOnTryAgain: CLUSTER_RETRY_DELAY_MS,
    slotsRefreshInterval: SLOTS_REFRESH_MS,
  };
  const c = new Cluster(target.nodes, options);
  // While no node is reachable at all, commands fail at once (a node that is away fails its own
  // commands already: its connection does not reconnect, the Cluster re-reads the slot map).
  if (failFast) c.once('ready', () => (c.options.enableOfflineQueue = false));
  return c;
}
