import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, Redis, type ChainableCommander } from 'ioredis';
import type { RedisClient } from './client.js';

/**
 * The Lua scripts, each described once: its KEYS and ARGV by name and type, in the order the
 * script's header lists them (test/redis-scripts.test.ts holds each description against its
 * header). Callers pass named keys and arguments, so the compiler checks every one of them,
 * and `numberOfKeys` is the length of `keys`. They pass them in parts (the user's keys, the
 * global ones, the script's own) that together hold every name: merging them into one object
 * with a spread costs ~5 µs per call (V8 copies a 20-property object slowly), the parts don't.
 *
 * The scripts are loaded once, with their shared parts (ids.lua, user-common.lua) in front, and
 * registered with `defineCommand`, so ioredis uses EVALSHA with a NOSCRIPT fallback, also in
 * pipelines. On a single node's connection a call skips ioredis's script command ({@link
 * ScriptCall}) but for the first call of each script on a socket and a NOSCRIPT answer (a
 * restarted or flushed Redis): those go through ioredis's, which loads the script.
 */

/** An ARGV value: a string, a number, or a number where '' means none. */
type Kind = 'string' | 'number' | 'number?';
type ValueOf<K> = K extends 'string' ? string : K extends 'number' ? number : K extends 'number?' ? number | '' : never;

/** The value of a 'number?' argument that is absent. */
export const NONE: '' = '';

const S = 'string' as const;
const N = 'number' as const;
const OPT = 'number?' as const;

interface Spec {
  /** shared parts put in front of the script (ids.lua, user-common.lua) */
  uses: readonly ('ids' | 'user-common')[];
  keys: readonly string[];
  argv: Readonly<Record<string, Kind>>;
  /** true: any number of string ARGV follow the named ones (ids) */
  rest?: true;
}

/** KEYS every per-user script starts with (user-common.lua; keys.ts UserKeys and PartitionKeys name them). */
const USER_KEYS = ['user', 'inbox', 'unread', 'exp', 'items', 'dedup', 'seq', 'blog', 'bcast', 'active', 'mutecount', 'due', 'maxexp'] as const;
/** ARGV every per-user script starts with (user-common.lua). */
const USER_ARGV = { now: N, cap: N, userId: S, channel: S } as const;
const USER = ['ids', 'user-common'] as const;
/** The partition outbox's keys sendNotification queues into (keys.ts OutboxKeys). */
const OUTBOX_SEND_KEYS = ['records', 'outboxDue', 'log', 'counts', 'purge', 'readyWebhook', 'readyTelegram', 'readyWecom'] as const;

export const SCRIPTS = {
  ensureUser: { uses: USER, keys: USER_KEYS, argv: USER_ARGV },
  upsertUser: { uses: USER, keys: USER_KEYS, argv: { ...USER_ARGV, nameMode: S, displayName: S, active: S } },
  updatePreferences: { uses: USER, keys: USER_KEYS, argv: { ...USER_ARGV, mutedTypes: S, channels: S } },
  sendNotification: {
    uses: USER,
    keys: [...USER_KEYS, 'stats', 'addr', ...OUTBOX_SEND_KEYS, 'epoch', 'req'],
    argv: {
      ...USER_ARGV,
      type: S,
      rank: N,
      json: S,
      expiresAt: N,
      dedupKey: S,
      dedupUntil: N,
      statsTtlMs: N,
      markKey: S,
      markUntil: N,
      channels: S,
      escalateAfterMs: N,
      retentionMs: N,
      optedOutReason: S,
      noAddressReason: S,
      requestId: S,
      requestKeepMs: N,
    },
  },
  listNotifications: { uses: USER, keys: USER_KEYS, argv: { ...USER_ARGV, first: N, after: OPT, unreadOnly: S, types: S, minRank: OPT } },
  getNotifications: { uses: USER, keys: USER_KEYS, argv: USER_ARGV, rest: true },
  markRead: { uses: USER, keys: USER_KEYS, argv: { ...USER_ARGV, read: S }, rest: true },
  markAllRead: { uses: USER, keys: USER_KEYS, argv: USER_ARGV },
  deleteNotifications: { uses: USER, keys: USER_KEYS, argv: USER_ARGV, rest: true },
  unreadCount: { uses: USER, keys: USER_KEYS, argv: USER_ARGV },
  pruneUser: { uses: USER, keys: USER_KEYS, argv: USER_ARGV },
  listSince: { uses: USER, keys: USER_KEYS, argv: { ...USER_ARGV, after: N } },
  inboxSnapshot: { uses: USER, keys: [...USER_KEYS, 'epoch'], argv: { ...USER_ARGV, after: OPT, token: S } },
  broadcastBegin: { uses: ['ids'], keys: ['seq', 'bdedup', 'req'], argv: { now: N, dedupKey: S, dedupUntil: N, requestId: S, requestKeepMs: N } },
  broadcastPart: {
    uses: ['ids'],
    keys: ['seq', 'blog', 'bdrop', 'bcast', 'bexp', 'maxexp', 'active', 'mutecount', 'stats', 'epoch', 'req'],
    argv: {
      now: N,
      type: S,
      rank: N,
      json: S,
      expiresAt: N,
      saveOffline: S,
      channel: S,
      statsTtlMs: N,
      id: S,
      seq: S,
      deduplicated: S,
      requestId: S,
      requestKeepMs: N,
    },
  },
  pruneBroadcasts: { uses: [], keys: ['blog', 'bdrop', 'bcast', 'bexp', 'maxexp'], argv: { now: N } },
  claimDue: { uses: [], keys: ['due'], argv: { now: N, limit: N, leaseEnd: N } },
  epoch: { uses: ['ids'], keys: ['seq', 'epoch'], argv: {} },
  // scheduler (keys.ts schedulerKeys)
  scheduleSend: { uses: ['ids'], keys: ['seq', 'sched', 'schedbody'], argv: { sendAt: N, json: S } },
  claimScheduled: { uses: [], keys: ['sched', 'schedbody'], argv: { now: N, limit: N, leaseEnd: N } },
  beginJobRun: { uses: [], keys: ['lock', 'status'], argv: { token: S, ttlMs: N, slot: OPT } },
  endJobRun: { uses: [], keys: ['lock', 'status'], argv: { token: S, startedAt: N, status: S } },
  // delivery outbox (keys.ts outboxKeys)
  promoteDeliveries: { uses: [], keys: ['due', 'readyWebhook', 'readyTelegram', 'readyWecom'], argv: { now: N, limit: N } },
  finishDelivery: {
    uses: [],
    keys: ['records', 'due', 'ready', 'failed', 'counts', 'purge'],
    argv: { id: S, entryId: S, group: S, now: N, outcome: S, error: S, nextAttemptAt: N, maxAttempts: N, retentionMs: N },
  },
  retryDelivery: { uses: [], keys: ['records', 'due', 'failed', 'counts', 'purge'], argv: { id: S, now: N } },
  pruneDeliveries: { uses: [], keys: ['records', 'purge', 'log', 'failed', 'counts'], argv: { now: N, limit: N } },
} as const satisfies Record<string, Spec>;

/** What each script returns (its header's "Returns"). */
interface Replies {
  ensureUser: number;
  upsertUser: string[];
  updatePreferences: string[];
  sendNotification: string[];
  listNotifications: (string | number)[];
  getNotifications: string[];
  markRead: string[];
  markAllRead: number;
  deleteNotifications: number;
  unreadCount: number;
  pruneUser: number;
  listSince: string[];
  inboxSnapshot: (string | number)[];
  broadcastBegin: [string, string, '0' | '1'];
  broadcastPart: [number, number, number];
  pruneBroadcasts: number;
  claimDue: string[];
  epoch: string;
  scheduleSend: string;
  claimScheduled: string[];
  beginJobRun: 'started' | 'busy' | 'done';
  endJobRun: number;
  promoteDeliveries: [number, string];
  finishDelivery: string;
  retryDelivery: string;
  pruneDeliveries: number;
}

export type ScriptName = keyof typeof SCRIPTS & keyof Replies;
type SpecOf<Name extends ScriptName> = (typeof SCRIPTS)[Name];
/** The script's KEYS by name. */
export type KeysOf<Name extends ScriptName> = Record<SpecOf<Name>['keys'][number], string>;
/** The script's named ARGV. */
export type ArgvOf<Name extends ScriptName> = { -readonly [A in keyof SpecOf<Name>['argv']]: ValueOf<SpecOf<Name>['argv'][A]> };
/** The ARGV after the named ones: ids for the scripts that take them, none for the others. */
type RestOf<Name extends ScriptName> = SpecOf<Name> extends { rest: true } ? readonly string[] : readonly [];

type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
/** One object or a list of parts; the first part holding a name gives its value. */
type Parts = object | readonly object[];
type Merged<P extends Parts> = Intersection<P extends readonly (infer E)[] ? E : P>;
/** `P` when its parts together hold every name of `Need` with the right type, else an error. */
type Covering<P extends Parts, Need> = Merged<P> extends Need ? P : Need;

const valueIn = (parts: Parts, name: string): string | number => {
  if (!Array.isArray(parts)) return (parts as Record<string, string | number>)[name]!;
  for (const part of parts as readonly Record<string, string | number | undefined>[]) {
    const value = part[name];
    if (value !== undefined) return value;
  }
  throw new Error(`script argument ${name} is missing`);
};

const argNames = new Map<string, string[]>(Object.entries(SCRIPTS).map(([name, spec]) => [name, Object.keys(spec.argv)]));

/**
 * Runs script `name` on a connection (a promise of its reply) or queues it on a pipeline (the
 * pipeline). The keys and arguments go in the order of its description.
 */
export function script<Name extends ScriptName, K extends Parts, A extends Parts, On extends RedisClient | ChainableCommander>(
  on: On,
  name: Name,
  keys: Covering<K, KeysOf<Name>>,
  argv: Covering<A, ArgvOf<Name>>,
  rest: RestOf<Name> = [] as RestOf<Name>,
): On extends ChainableCommander ? ChainableCommander : Promise<Replies[Name]> {
  const direct = on instanceof Redis;
  // On a direct call the array is the command's own (sha, key count, then these): no copy.
  const args: (string | number)[] = direct ? [shaOf(name), SCRIPTS[name].keys.length] : [];
  for (const k of SCRIPTS[name].keys) args.push(valueIn(keys, k));
  for (const a of argNames.get(name)!) args.push(valueIn(argv, a));
  for (const r of rest) args.push(r);
  const viaIoredis = () => (on as unknown as Record<Name, (...a: (string | number)[]) => never>)[name](...(direct ? args.slice(2) : args));
  if (!direct) return viaIoredis();
  // The first call on a connection goes through ioredis, whose first call on a socket is an
  // EVAL: it loads the script, so the direct ones that follow find it.
  const socket = (on as unknown as { stream?: object }).stream;
  if (!socket) return viaIoredis();
  let known = loadedOn.get(socket);
  if (!known?.has(name)) {
    if (!known) loadedOn.set(socket, (known = new Set()));
    known.add(name);
    return viaIoredis();
  }
  const call = new ScriptCall(args);
  on.sendCommand(call);
  return call.promise.catch((err: unknown) => {
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return viaIoredis();
    throw err;
  }) as never;
}

/** The scripts a connection's socket has been sent (ioredis replaces the socket on reconnect). */
const loadedOn = new WeakMap<object, Set<ScriptName>>();

/**
 * EVALSHA written in one pass over the arguments, which are the command's own array. ioredis's
 * script command copies a send's 45 arguments three times (unshift, spread, flat) and adds a
 * closure and a promise per call. The reply is decoded as ioredis's script commands decode it
 * (UTF-8 strings).
 */
class ScriptCall extends Command {
  /** `args`: the sha, the key count, the keys, the arguments; kept as the command's own */
  constructor(args: (string | number)[]) {
    super('evalsha', [], { replyEncoding: 'utf8' });
    this.args = args;
  }
  override toWritable(): string {
    const parts = [`*${this.args.length + 1}\r\n$7\r\nevalsha\r\n`];
    for (const arg of this.args) {
      const text = typeof arg === 'string' ? arg : String(arg);
      parts.push(`$${Buffer.byteLength(text)}\r\n${text}\r\n`);
    }
    return parts.join('');
  }
}

const lua = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

/** The script's source as registered: its shared parts, then its own file. */
export function scriptSource(name: ScriptName): string {
  return [...SCRIPTS[name].uses.map(lua), lua(name)].join('\n');
}

let sources: Map<ScriptName, { lua: string; sha: string }> | undefined;

/** A script's source as registered and its SHA-1, made once for every script. */
function sourceOf(name: ScriptName): { lua: string; sha: string } {
  sources ??= new Map(
    (Object.keys(SCRIPTS) as ScriptName[]).map((n) => {
      const lua = scriptSource(n);
      return [n, { lua, sha: createHash('sha1').update(lua).digest('hex') }];
    }),
  );
  return sources.get(name)!;
}

const shaOf = (name: ScriptName) => sourceOf(name).sha;

/** Registers every script on a connection (idempotent per connection). */
export function defineScripts(redis: RedisClient): void {
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    if (!(name in redis)) redis.defineCommand(name, { lua: sourceOf(name).lua, numberOfKeys: SCRIPTS[name].keys.length });
  }
}
