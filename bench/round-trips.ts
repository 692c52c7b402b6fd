/**
 * Counts Redis round trips made through one ioredis client.
 *
 * How: every command ioredis sends, on its own or inside a pipeline, passes through the client
 * instance's `sendCommand(command, stream?)`:
 *  - a plain command (`redis.hgetall(...)`, a script, `redis.script(...)`, the NOSCRIPT re-send of
 *    a script) calls it WITHOUT `stream`. Plain commands sent in the same turn of the event loop
 *    go out before any of their replies is awaited (in one write where the connection corks
 *    them, coalesce-commands.ts): 1 round trip per turn, however many commands it carries;
 *  - `Pipeline.exec()` (and `multi().exec()`, and auto-pipelining, which builds a Pipeline) calls
 *    it once per queued command WITH a `stream` object `{ isPipeline: true, ... }` that is created
 *    anew for each exec and buffers all commands into ONE socket write -> 1 round trip per
 *    distinct stream object, however many commands it carries.
 * So the instance's `sendCommand` is temporarily replaced by a wrapper that counts plain calls and
 * distinct pipeline stream objects, then delegates. Nothing is changed on the wire.
 *
 * On a Redis Cluster client the same holds one level up: a plain command passes through the
 * Cluster's `sendCommand` without `stream` (it picks the node itself), a pipeline, and every
 * auto-pipelined batch, with one `stream` per node it writes to; each is one round trip to one
 * node (batches to different nodes run in parallel, but count apart).
 *
 * Caveats: the count covers everything sent through this client while counting, so nothing else
 * may use it concurrently; and the client must already be connected (commands queued offline are
 * re-submitted through sendCommand on connect and would count twice). Checked at start().
 */
import type { Command } from 'ioredis';
import type { RedisClient } from '../src/store/redis/client.js';

export interface RoundTripCounter {
  /** Round trips since start(). */
  readonly count: number;
  /** Commands since start(), each command of a pipeline or a turn counted. */
  readonly commands: number;
  /** One line per round trip: "evalsha listNotifications", "pipeline[hgetall]" or "turn[get x2]". */
  readonly trips: readonly string[];
  /** Puts the original sendCommand back; returns the final count. */
  stop(): number;
}

type SendCommand = (command: Command, stream?: unknown, node?: unknown) => unknown;

const active = new WeakSet<RedisClient>();

/** Starts counting on `redis` (connected, not already counted). */
export function startRoundTripCounter(redis: RedisClient): RoundTripCounter {
  if (redis.status !== 'ready') throw new Error(`round-trip counter: client is "${redis.status}", connect it first`);
  if (active.has(redis)) throw new Error('round-trip counter: already counting on this client');
  active.add(redis);

  // Script commands go out as EVALSHA <sha>; name them after their defineCommand name.
  const scriptNames = new Map<string, string>();
  const scripts = (redis as unknown as { scriptsSet?: Record<string, { sha: string }> }).scriptsSet ?? {};
  for (const [name, s] of Object.entries(scripts)) scriptNames.set(s.sha, name);
  const describe = (c: Command) => {
    const script = (c.name === 'evalsha' || c.name === 'eval') && scriptNames.get(String(c.args[0]));
    return script ? `${c.name} ${script}` : c.name;
  };

  const trips: string[] = [];
  let commands = 0;
  const pipelines = new Map<object, { index: number; names: string[] }>();
  /** this turn's plain commands on a single node (a Cluster's go out in its auto-pipelines, counted as pipelines) */
  let turn: { index: number; names: string[] } | null = null;
  const target = redis as unknown as { sendCommand: SendCommand };
  const hadOwn = Object.prototype.hasOwnProperty.call(target, 'sendCommand');
  const original = target.sendCommand;

  target.sendCommand = function countingSendCommand(this: unknown, command, stream, node) {
    const s = stream as { isPipeline?: boolean } | undefined;
    if (s && s.isPipeline === true) {
      let p = pipelines.get(s);
      if (!p) {
        p = { index: trips.length, names: [] };
        pipelines.set(s, p);
        trips.push('');
      }
      p.names.push(describe(command));
      trips[p.index] = `pipeline[${summarize(p.names)}]`;
    } else if (!redis.isCluster) {
      if (!turn) {
        const t = (turn = { index: trips.length, names: [] as string[] });
        trips.push('');
        process.nextTick(() => {
          if (turn === t) turn = null;
        });
      }
      turn.names.push(describe(command));
      trips[turn.index] = turn.names.length === 1 ? turn.names[0]! : `turn[${summarize(turn.names)}]`;
    } else {
      trips.push(describe(command));
    }
    commands++;
    return original.call(this, command, stream, node);
  };

  let stopped = false;
  return {
    get count() {
      return trips.length;
    },
    get commands() {
      return commands;
    },
    get trips() {
      return trips;
    },
    stop() {
      if (!stopped) {
        stopped = true;
        if (hadOwn) target.sendCommand = original;
        else delete (target as { sendCommand?: SendCommand }).sendCommand;
        active.delete(redis);
      }
      return trips.length;
    },
  };
}

/** Runs `fn` while counting round trips on `redis`. */
export async function countRoundTrips<T>(redis: RedisClient, fn: () => Promise<T>): Promise<{ result: T; roundTrips: number; trips: string[] }> {
  const counter = startRoundTripCounter(redis);
  try {
    const result = await fn();
    return { result, roundTrips: counter.count, trips: [...counter.trips] };
  } finally {
    counter.stop();
  }
}

/** ["hgetall", "hgetall", "evalsha x"] -> "hgetall x2, evalsha x" */
function summarize(names: string[]): string {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([n, c]) => (c > 1 ? `${n} x${c}` : n)).join(', ');
}
