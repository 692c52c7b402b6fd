/**
 * Every Redis key this server uses, and nothing else builds one.
 *
 * | pattern                          | type   | holds                                                    | written by            |
 * |----------------------------------|--------|----------------------------------------------------------|-----------------------|
 * | P{g}:seq                         | string | last issued sequence number (ids of items & broadcasts), | send, broadcast       |
 * |                                  |        | never below Redis' clock in µs                           |                       |
 * | P{g}:epoch                       | string | this data set's marker: every id it issued is above it   | epoch, inboxSnapshot  |
 * | P{g}:blog                        | zset   | broadcast log: "id|type|createdAt|expiresAt" by seq      | broadcast, prune      |
 * | P{g}:bdrop                       | zset   | same members by the time the log entry can go            | broadcast, prune      |
 * | P{g}:bcast                       | hash   | broadcast id -> "type\trank\tjson" (body)                | broadcast, prune      |
 * | P{g}:bexp                        | zset   | broadcast id by expiresAt (when its body can go)         | broadcast, prune      |
 * | P{g}:bdedup                      | zset   | broadcast dedup key by window end                        | broadcast             |
 * | P{g}:maxexp                      | string | latest expiresAt ever issued (bounds log retention)      | send, broadcast       |
 * | P{g}:active                      | zset   | active user id by activation time                        | user scripts          |
 * | P{g}:mutecount                   | hash   | type -> number of active users who muted it              | user scripts          |
 * | P{g}:due                         | zset   | user id by next expiry (item/dedup), or sweep lease end  | user scripts, claimDue|
 * | P{g}:policies                    | hash   | type -> policy JSON                                      | setPolicy             |
 * | P{g}:templates                   | hash   | name -> template JSON                                    | upsertTemplate        |
 * | P{u:ID}:user                     | hash   | name, active, created, wm (settled seq), rmid (highest   | user scripts          |
 * |                                  |        | id ever removed: resume watermark), muted, channels      |                       |
 * | P{u:ID}:inbox                    | zset   | item id by seq (own items and settled broadcasts)        | user scripts          |
 * | P{u:ID}:unread                   | zset   | unread item id by seq                                    | user scripts          |
 * | P{u:ID}:exp                      | zset   | item id by expiresAt                                     | user scripts          |
 * | P{u:ID}:items                    | hash   | own item id -> "type\trank\tjson"; broadcast id -> ""    | user scripts          |
 * | P{u:ID}:readat                   | hash   | item id -> readAt ms                                     | user scripts          |
 * | P{u:ID}:dedup                    | zset   | dedup key by window end                                  | send                  |
 * | P{u:ID}:addr                     | hash   | channel -> JSON {channel, address, secret, updatedAt}    | setChannelAddress     |
 *
 * P is the configured prefix (DEFAULT_PREFIX, "ntf:"). A user's keys share the hash tag {u:ID};
 * the global keys share {g}. User ids are restricted to [A-Za-z0-9_.@-] (ids.ts USER_ID) so they
 * can't break a tag: the domain refuses others as bad input, and one that reaches this module
 * anyway is a bug, so building its keys throws. docs/redis-layout.md mirrors this table.
 */
import { checkUserId } from '../ids.js';
import { DEFAULT_PREFIX } from '../prefix.js';
import { JOB_NAME } from '../schedule-store.js';

/** The key layout's version: a server refuses a data set stamped with another (layoutKey). */
export const LAYOUT_VERSION = 2;

/** Where the data set's layout stamp lives: "LAYOUT_VERSION:PARTITIONS". */
export const layoutKey = (prefix = DEFAULT_PREFIX): string => `${prefix}{g}:layout`;

export interface GlobalKeys {
  seq: string;
  /** the marker of this data set: every id it issued is above it (ids.lua ensureEpoch) */
  epoch: string;
  blog: string;
  bdrop: string;
  bcast: string;
  bexp: string;
  bdedup: string;
  maxexp: string;
  active: string;
  mutecount: string;
  due: string;
  policies: string;
  templates: string;
}

export interface UserKeys {
  user: string;
  inbox: string;
  unread: string;
  exp: string;
  items: string;
  readat: string;
  dedup: string;
  /** channel addresses (deliveries beyond the app) */
  addr: string;
}

export interface KeySpace {
  prefix: string;
  global: GlobalKeys;
  user(userId: string): UserKeys;
}

export function keySpace(prefix = DEFAULT_PREFIX): KeySpace {
  const globalKey = (name: string) => `${prefix}{g}:${name}`;
  return {
    prefix,
    global: {
      seq: globalKey('seq'),
      epoch: globalKey('epoch'),
      blog: globalKey('blog'),
      bdrop: globalKey('bdrop'),
      bcast: globalKey('bcast'),
      bexp: globalKey('bexp'),
      bdedup: globalKey('bdedup'),
      maxexp: globalKey('maxexp'),
      active: globalKey('active'),
      mutecount: globalKey('mutecount'),
      due: globalKey('due'),
      policies: globalKey('policies'),
      templates: globalKey('templates'),
    },
    user(userId) {
      checkUserId(userId);
      const key = (name: string) => `${prefix}{u:${userId}}:${name}`;
      return {
        user: key('user'),
        inbox: key('inbox'),
        unread: key('unread'),
        exp: key('exp'),
        items: key('items'),
        readat: key('readat'),
        dedup: key('dedup'),
        addr: key('addr'),
      };
    },
  };
}

/**
 * The keys every per-user script picks its KEYS from (user-common.lua names them; scripts.ts
 * orders them): the user's and the global ones. Global keys ride along because settling reads
 * the broadcast log and user scripts keep the active set, mute counts and the expiry index
 * exact; see docs/architecture.md on Cluster.
 */
export function userScriptKeys(keys: KeySpace, userId: string): [UserKeys, GlobalKeys] {
  return [keys.user(userId), keys.global];
}

// ---------------------------------------------------------------------------------------------
// Counters and cache (dashboard; src/cache). Separate from the inbox keys above: no inbox
// script reads them, and losing them loses only counters and cached values, never data.
//
// | pattern                          | type   | holds                                                 | TTL              | written by                    |
// |----------------------------------|--------|-------------------------------------------------------|------------------|-------------------------------|
// | P{g}:stats:YYYY-MM-DD            | hash   | sent, dedup, type:NAME counts of that UTC day         | STATS_TTL_MS     | sendNotification, broadcast   |
// | P{g}:cache:v:KEY                 | string | shared cache entry: JSON {"t": computedAt ms, "v": …} | the entry's TTL  | cache (src/cache/cache.ts)    |
// | P{g}:cache:lock:KEY              | string | single-flight lock: the instance computing KEY        | lockMs (≤ TTL)   | cache                         |
// | P{g}:cache:stats:YYYY-MM-DD      | hash   | hits, misses of every instance's cache that UTC day   | STATS_TTL_MS     | cache                         |
//
// KEY is built by the cache from a name and the arguments that make the key (checked below).
// ---------------------------------------------------------------------------------------------

/** How long a day's counters are kept. */
export const STATS_TTL_MS = 3 * 24 * 3600 * 1000;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** What a cache key may contain: it is part of a Redis key (no braces, so never a hash tag). */
export const CACHE_KEY = /^[A-Za-z0-9_.:@=,-]{1,200}$/;

function checkDay(day: string): string {
  if (!DAY.test(day)) throw new Error(`stats day must be YYYY-MM-DD, got ${JSON.stringify(day)}`);
  return day;
}

/** The per-day notification counters (written inside sendNotification.lua and broadcast.lua). */
export function statsKey(prefix: string, day: string): string {
  return `${prefix}{g}:stats:${checkDay(day)}`;
}

export interface CacheKeys {
  value(key: string): string;
  lock(key: string): string;
  stats(day: string): string;
  statsTtlMs: number;
}

export function cacheKeys(prefix = DEFAULT_PREFIX): CacheKeys {
  const check = (key: string) => {
    if (!CACHE_KEY.test(key)) throw new Error(`cache key must match ${CACHE_KEY}, got ${JSON.stringify(key)}`);
    return key;
  };
  return {
    value: (key) => `${prefix}{g}:cache:v:${check(key)}`,
    lock: (key) => `${prefix}{g}:cache:lock:${check(key)}`,
    stats: (day) => `${prefix}{g}:cache:stats:${checkDay(day)}`,
    statsTtlMs: STATS_TTL_MS,
  };
}

// ---------------------------------------------------------------------------------------------
// Scheduler: scheduled sends and job runs (src/scheduler, docs/jobs.md)
// ---------------------------------------------------------------------------------------------
/*
 * | pattern                          | type   | holds                                                    | written by            |
 * |----------------------------------|--------|----------------------------------------------------------|-----------------------|
 * | P{g}:sched                       | zset   | scheduled send id by due time (sendAt, or lease end)     | schedule, claim       |
 * | P{g}:schedbody                   | hash   | scheduled send id -> JSON (users, resolved content)      | schedule, complete    |
 * | P{g}:job:NAME                    | hash   | lastRunAt, lastStatus, lastSlot (occurrence ms)          | begin/endJobRun       |
 * | P{g}:job:NAME:lock               | string | the running owner's random token, PX = the job's TTL     | begin/endJobRun       |
 *
 * Scheduled sends borrow their id from P{g}:seq. A delivery also leaves a mark "#s:ID" in each
 * recipient's P{u:ID}:dedup (see sendNotification.lua), so a redelivery is a no-op.
 * Job names are [a-z][a-z0-9-]*, so they can't break a key or a tag.
 */

export interface SchedulerKeys {
  sched: string;
  schedbody: string;
  job(name: string): { status: string; lock: string };
}

export function schedulerKeys(prefix = DEFAULT_PREFIX): SchedulerKeys {
  const globalKey = (name: string) => `${prefix}{g}:${name}`;
  return {
    sched: globalKey('sched'),
    schedbody: globalKey('schedbody'),
    job(name) {
      if (!JOB_NAME.test(name)) throw new Error(`job name ${JSON.stringify(name)} must match ${JOB_NAME}`);
      return { status: globalKey(`job:${name}`), lock: globalKey(`job:${name}:lock`) };
    },
  };
}


// ---------------------------------------------------------------------------------------------
// The delivery outbox (src/channels, docs/channels.md). Every outbox key shares the tag {o}, so
// each outbox script touches one slot; sendNotification.lua queues into them when it stores.
// ---------------------------------------------------------------------------------------------
/*
 * | pattern                          | type   | holds                                                    | written by                 |
 * |----------------------------------|--------|----------------------------------------------------------|----------------------------|
 * | P{o}:dlv                         | hash   | delivery id -> JSON record (store/deliveries.ts)      | send, outbox scripts       |
 * | P{o}:ready:CHANNEL               | stream | entries {d: delivery id} ready to send; group "outbox"   | send, promoteDeliveries    |
 * | P{o}:due                         | zset   | delivery id by when it may be tried (escalation, retry)  | send, finish, retry        |
 * | P{o}:log                         | zset   | delivery ids (score 0: id order = creation order)        | send, prune                |
 * | P{o}:failed                      | zset   | FAILED delivery ids (score 0), the dead letters          | finish, retry, prune       |
 * | P{o}:counts                      | hash   | STATUS and CHANNEL:STATUS -> deliveries kept             | send, finish, retry, prune |
 * | P{o}:purge                       | zset   | finished delivery id by when it may be forgotten         | send, finish, retry, prune |
 * | P{o}:rl:NAME:…                   | string | rate-limiter buckets (rate-limiter-flexible)             | outbox throttle            |
 */

/** The consumer group every instance joins on each ready stream. */
export const OUTBOX_GROUP = 'outbox';

export interface OutboxKeys {
  records: string;
  due: string;
  log: string;
  failed: string;
  counts: string;
  purge: string;
  ready(channel: 'WEBHOOK' | 'TELEGRAM' | 'WECOM'): string;
  /** key prefix of a rate limiter (rate-limiter-flexible appends ":" and its key) */
  limiter(name: string): string;
}

export function outboxKeys(prefix = DEFAULT_PREFIX): OutboxKeys {
  const outboxKey = (name: string) => `${prefix}{o}:${name}`;
  return {
    records: outboxKey('dlv'),
    due: outboxKey('due'),
    log: outboxKey('log'),
    failed: outboxKey('failed'),
    counts: outboxKey('counts'),
    purge: outboxKey('purge'),
    ready: (channel) => outboxKey(`ready:${channel}`),
    limiter: (name) => {
      if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new Error(`limiter name ${JSON.stringify(name)} must match [a-z][a-z0-9-]*`);
      return outboxKey(`rl:${name}`);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Rate limits (src/server/rate-limit.ts; rate-limiter-flexible appends ":CLASS:SUB" to these)
// ---------------------------------------------------------------------------------------------
/*
 * | pattern                          | type   | holds                                                    | TTL   | written by   |
 * |----------------------------------|--------|----------------------------------------------------------|-------|--------------|
 * | P rl:mut:CLASS:SUB               | string | mutations of this principal in the current 1 s window    | 1 s   | rate limiter |
 * | P rl:burst:CLASS:SUB             | string | burst allowance used in the current 10 s window          | 10 s  | rate limiter |
 *
 * CLASS is `service` (service and admin principals) or `user`; SUB is the token's subject
 * (SUB_PATTERN: no braces), so each key is a slot of its own.
 */
export interface RateLimitKeys {
  /** key prefix of the per-second window counters */
  window: string;
  /** key prefix of the burst allowance counters */
  burst: string;
}

export function rateLimitKeys(prefix = DEFAULT_PREFIX): RateLimitKeys {
  return { window: `${prefix}rl:mut`, burst: `${prefix}rl:burst` };
}
