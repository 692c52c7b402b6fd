/**
 * Start-up failures as one line each: the cause and the setting to change (docs/configuration.md,
 * "Start-up errors"). main.ts prints the line on stderr and exits 1; the stack follows only at
 * LOG_LEVEL=debug or trace, since an operator needs the setting, not our call chain.
 */
import { ConfigError } from './config.js';
import type { RedisClient } from './store/redis/client.js';
import { describeTarget, type RedisTarget } from './store/redis/connect.js';
import { LAYOUT_VERSION, layoutKey } from './store/redis/keys.js';

/** A start-up failure whose message already names the cause and the setting to change. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/** How long start-up waits for Redis to answer PING before giving up. */
export const REDIS_STARTUP_TIMEOUT_MS = 5000;

/** Explains a failed `server.listen()`. */
export function listenError(err: NodeJS.ErrnoException, host: string, port: number): StartupError {
  const options = { cause: err };
  switch (err.code) {
    case 'EADDRINUSE':
      return new StartupError(`Port ${port} is already in use on ${host}: set PORT to a free port, or stop the process that holds it`, options);
    case 'EACCES':
      return new StartupError(`Not allowed to listen on port ${port} (ports below 1024 need privileges): set PORT to 1024 or above`, options);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new StartupError(`Cannot listen on HOST ${host}: it is not an address of this machine; set HOST (0.0.0.0: every interface, 127.0.0.1: local only)`, options);
    default:
      return new StartupError(`Cannot listen on ${host}:${port} (${err.code ?? err.message}): check PORT and HOST`, options);
  }
}

/**
 * Start-up's bounded connection check: every connection must answer PING within
 * {@link REDIS_STARTUP_TIMEOUT_MS} (on a Cluster, once it has read the slot map). Later outages
 * are different: the server keeps running and `/readyz` reports them.
 * @throws {@link StartupError} naming REDIS_URL or REDIS_CLUSTER_NODES and what went wrong
 *   (refused, unknown host, auth), or a REDIS_URL that points at a node of a Redis Cluster.
 */
export async function checkRedis(connections: RedisClient[], target: RedisTarget, timeoutMs = REDIS_STARTUP_TIMEOUT_MS): Promise<void> {
  // ioredis reports the cause (ECONNREFUSED, ENOTFOUND, WRONGPASS) as 'error' events; PING itself
  // only fails with "max retries reached" or not at all.
  // A Cluster that reaches no node says "Failed to refresh slots cache"; each node's own error
  // (ECONNREFUSED, …) comes as 'node error'.
  let cause: Error | undefined;
  let nodeCause: Error | undefined;
  const onError = (err: Error) => (cause = err);
  const onNodeError = (err: Error) => (nodeCause = err);
  for (const c of connections) c.on('error', onError).on('node error', onNodeError);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  let answered = false;
  try {
    answered = (await Promise.race([Promise.all(connections.map((c) => c.ping())), timeout])) !== 'timeout';
  } catch (err) {
    cause ??= err as Error;
  } finally {
    clearTimeout(timer);
    for (const c of connections) c.off('error', onError).off('node error', onNodeError);
  }
  // A Cluster's node connections only say "Connection is closed." when nothing listens there.
  const vague = (e: Error | undefined) => e !== undefined && /^(Connection is closed\.|Failed to refresh slots cache\.)$/.test(e.message);
  cause = nodeCause && !vague(nodeCause) ? nodeCause : cause;
  if (target.kind === 'cluster' && vague(cause)) cause = new Error('no seed accepted a connection', { cause });
  const variable = target.kind === 'single' ? 'REDIS_URL' : 'REDIS_CLUSTER_NODES';
  const where = describeTarget(target);
  if (answered) {
    // A single node's client sends every key to that node: on a cluster node most would answer MOVED.
    if (target.kind === 'single' && /cluster_enabled:1/.test(await connections[0]!.info('cluster'))) {
      throw new StartupError(`Redis at ${where} is a node of a Redis Cluster: set REDIS_CLUSTER_NODES to its nodes (host:port,…) instead of REDIS_URL`);
    }
    return;
  }
  const hint = `check ${variable} and that Redis runs there, or unset ${variable} for the memory backend`;
  const what = target.kind === 'single' ? `Redis at ${where}` : where;
  throw new StartupError(
    cause ? `Cannot reach ${what} (${cause.message}): ${hint}` : `${what[0]!.toUpperCase()}${what.slice(1)} did not answer PING within ${timeoutMs / 1000} s: ${hint}`,
    { cause },
  );
}

/**
 * Stamps the key layout (its version and the partition count) on a data set that has none, or
 * checks the stamp: a server must not run on keys laid out otherwise. The upgrade across layouts
 * is a fresh Redis or another REDIS_KEY_PREFIX (docs/redis-layout.md, "Layout version").
 * @throws {@link StartupError} when Redis holds another layout under this prefix.
 */
export async function checkLayout(redis: RedisClient, prefix: string, partitions: number): Promise<void> {
  const key = layoutKey(prefix);
  const want = `${LAYOUT_VERSION}:${partitions}`;
  // SET NX ... GET answers the value already there (nil when this call stamped it), in one step.
  const have = (await redis.call('SET', key, want, 'NX', 'GET')) as string | null;
  if (have === null || have === want) return;
  const m = /^(\d+):(\d+)$/.exec(have);
  const held = m ? `key layout version ${m[1]} with ${m[2]} partitions` : `an unknown key layout stamp ${JSON.stringify(have)}`;
  const change = m && m[1] === String(LAYOUT_VERSION) ? ' (REDIS_PARTITIONS)' : '';
  throw new StartupError(
    `Redis holds ${held} under REDIS_KEY_PREFIX ${JSON.stringify(prefix)}, this server uses version ${LAYOUT_VERSION} with ${partitions} partitions${change}: start it on a fresh Redis or with another REDIS_KEY_PREFIX (docs/redis-layout.md, "Layout version")`,
  );
}

/** One line on stderr (the stack too when `debug`), then exit code 1. */
export function exitOnStartupFailure(err: unknown, debug: boolean): never {
  const line = err instanceof StartupError || err instanceof ConfigError ? err.message : `Start-up failed: ${err instanceof Error ? err.message : String(err)}`;
  console.error(line);
  if (debug) console.error(err); // the stack, and the cause's
  process.exit(1);
}
