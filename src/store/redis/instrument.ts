/**
 * Redis command metrics for one connection: every command (pipelined ones and our Lua scripts
 * included, scripts under their name) passes through the connection's `sendCommand`, so it is
 * wrapped there once. A Cluster client is wrapped the same way: its `sendCommand` takes every
 * command (auto-pipelined ones too) before it picks the node, and a command redirected to
 * another node (MOVED, failover) goes on to the node's own connection, so it is timed once,
 * redirections included. Per command that is a clock read and a histogram observation when the
 * reply comes. (ioredis's diagnostics_channel tracing would serialise every command's
 * arguments for its context, and is process-wide.)
 */
import type { RedisClient } from './client.js';
import type { Metrics } from '../../metrics/metrics.js';

/** set on a command once timed: ioredis may pass a command through sendCommand again (offline queue, reconnect) */
const TIMED = Symbol('timed');

interface SentCommand {
  name: string;
  args: unknown[];
  promise: Promise<unknown>;
  [TIMED]?: true;
}

const instrumented = new WeakSet<RedisClient>();

/** Times every command `redis` sends from now on into `metrics` (once per connection; the caller still owns it). */
export function instrumentRedis(redis: RedisClient, metrics: Pick<Metrics, 'enabled' | 'redisDuration' | 'redisErrors'>): void {
  if (!metrics.enabled || instrumented.has(redis)) return;
  instrumented.add(redis);
  const { redisDuration, redisErrors } = metrics;
  const scripts = new Map<unknown, string>();
  /** `evalsha` of one of our scripts: the script's name (defineCommand registered it on this connection) */
  const scriptName = (sha: unknown): string => {
    let name = scripts.get(sha);
    if (name === undefined) {
      for (const [n, s] of Object.entries((redis as unknown as { scriptsSet: Record<string, { sha: string }> }).scriptsSet)) scripts.set(s.sha, `script:${n}`);
      name = scripts.get(sha) ?? 'evalsha';
      scripts.set(sha, name);
    }
    return name;
  };
  const send = redis.sendCommand.bind(redis) as (command: SentCommand, ...rest: unknown[]) => unknown;
  (redis as unknown as { sendCommand: typeof send }).sendCommand = (command, ...rest) => {
    // ioredis's own handshake (status 'connect': AUTH, SELECT, CLIENT SETNAME/SETINFO, the INFO
    // ready check; a Cluster's CLUSTER INFO ready check) is left out: CLIENT SETINFO fails on Redis < 7.2 by design, and ioredis ignores it.
    if (command[TIMED] || redis.status === 'connect') return send(command, ...rest);
    command[TIMED] = true;
    // Read before sending: for a script not yet loaded, ioredis rewrites evalsha into eval while writing.
    const label = { command: command.name === 'evalsha' ? scriptName(command.args[0]) : command.name };
    const start = performance.now();
    command.promise.then(
      () => redisDuration.observe(label, (performance.now() - start) / 1000),
      () => {
        redisDuration.observe(label, (performance.now() - start) / 1000);
        redisErrors.inc(label);
      },
    );
    return send(command, ...rest);
  };
}
