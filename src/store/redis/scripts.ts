import { readFileSync } from 'node:fs';
import type { Cluster, Redis, Result, ClientContext } from 'ioredis';

/**
 * Loads the Lua scripts once, composing shared parts (ids.lua, user-common.lua) in front of
 * each, and registers them with `defineCommand` so ioredis uses EVALSHA with a NOSCRIPT
 * fallback, also inside pipelines. The augmentation below types them for callers.
 */

const lua = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

/** Per-user scripts: KEYS from userScriptKeys() (one slot), ARGV starting with now, cap, userId, user channel. */
const USER_SCRIPTS = [
  'ensureUser',
  'upsertUser',
  'updatePreferences',
  'sendNotification',
  'listNotifications',
  'getNotifications',
  'markRead',
  'markAllRead',
  'deleteNotifications',
  'unreadCount',
  'pruneUser',
  'listSince',
  'inboxSnapshot',
] as const;
export const USER_SCRIPT_KEY_COUNT = 14;
/**
 * Keys a per-user script takes after the common ones (sendNotification: the day's stats hash,
 * the user's addresses, the partition outbox's 8 keys and the request's results).
 */
const EXTRA_KEYS: Partial<Record<(typeof USER_SCRIPTS)[number], number>> = { sendNotification: 11 };

type Arg = string | number;

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    ensureUser(...args: Arg[]): Result<number, Context>;
    upsertUser(...args: Arg[]): Result<string[], Context>;
    updatePreferences(...args: Arg[]): Result<string[], Context>;
    sendNotification(...args: Arg[]): Result<string[], Context>;
    listNotifications(...args: Arg[]): Result<(string | number)[], Context>;
    getNotifications(...args: Arg[]): Result<string[], Context>;
    markRead(...args: Arg[]): Result<string[], Context>;
    markAllRead(...args: Arg[]): Result<number, Context>;
    deleteNotifications(...args: Arg[]): Result<number, Context>;
    unreadCount(...args: Arg[]): Result<number, Context>;
    pruneUser(...args: Arg[]): Result<number, Context>;
    listSince(...args: Arg[]): Result<string[], Context>;
    inboxSnapshot(...args: Arg[]): Result<(string | number)[], Context>;
    claimDue(...args: Arg[]): Result<string[], Context>;
    broadcastBegin(...args: Arg[]): Result<[string, number], Context>;
    broadcastPart(...args: Arg[]): Result<[number, number, number], Context>;
    pruneBroadcasts(...args: Arg[]): Result<number, Context>;
    // scheduler (keys.ts schedulerKeys)
    scheduleSend(...args: Arg[]): Result<string, Context>;
    claimScheduled(...args: Arg[]): Result<string[], Context>;
    beginJobRun(...args: Arg[]): Result<'started' | 'busy' | 'done', Context>;
    endJobRun(...args: Arg[]): Result<number, Context>;
    // delivery outbox (keys.ts outboxKeys)
    promoteDeliveries(...args: Arg[]): Result<number, Context>;
    finishDelivery(...args: Arg[]): Result<string, Context>;
    retryDelivery(...args: Arg[]): Result<string, Context>;
    pruneDeliveries(...args: Arg[]): Result<number, Context>;
  }
}

let sources: Map<string, { lua: string; numberOfKeys: number }> | undefined;

function compose() {
  if (sources) return sources;
  const ids = lua('ids');
  const common = lua('user-common');
  sources = new Map();
  for (const name of USER_SCRIPTS) {
    sources.set(name, { lua: `${ids}\n${common}\n${lua(name)}`, numberOfKeys: USER_SCRIPT_KEY_COUNT + (EXTRA_KEYS[name] ?? 0) });
  }
  sources.set('broadcastBegin', { lua: `${ids}\n${lua('broadcastBegin')}`, numberOfKeys: 2 });
  sources.set('broadcastPart', { lua: `${ids}\n${lua('broadcastPart')}`, numberOfKeys: 9 });
  sources.set('pruneBroadcasts', { lua: lua('pruneBroadcasts'), numberOfKeys: 5 });
  sources.set('claimDue', { lua: lua('claimDue'), numberOfKeys: 1 });
  sources.set('scheduleSend', { lua: `${ids}\n${lua('scheduleSend')}`, numberOfKeys: 3 });
  sources.set('claimScheduled', { lua: lua('claimScheduled'), numberOfKeys: 2 });
  sources.set('beginJobRun', { lua: lua('beginJobRun'), numberOfKeys: 2 });
  sources.set('endJobRun', { lua: lua('endJobRun'), numberOfKeys: 2 });
  sources.set('promoteDeliveries', { lua: lua('promoteDeliveries'), numberOfKeys: 4 });
  sources.set('finishDelivery', { lua: lua('finishDelivery'), numberOfKeys: 6 });
  sources.set('retryDelivery', { lua: lua('retryDelivery'), numberOfKeys: 5 });
  sources.set('pruneDeliveries', { lua: lua('pruneDeliveries'), numberOfKeys: 5 });
  return sources;
}

/** Each script's name and how many of its leading arguments are KEYS. */
export function scriptKeyCounts(): Map<string, number> {
  return new Map([...compose()].map(([name, def]) => [name, def.numberOfKeys]));
}

/** Registers every script on a connection (idempotent per connection). */
export function defineScripts(redis: Redis | Cluster): void {
  for (const [name, def] of compose()) {
    if (!(name in redis)) redis.defineCommand(name, def);
  }
}
