/**
 * Every Redis key this server uses, and nothing else builds one. docs/redis-layout.md mirrors
 * these tables and says why the layout is what it is.
 *
 * Users are spread over P partitions (partition.ts; P = REDIS_PARTITIONS, fixed per data set).
 * Everything a per-user script touches carries its partition's hash tag {p:N}, so each script
 * runs on one Redis Cluster slot; what no partition owns carries {g}.
 *
 * | pattern                          | type   | holds                                                    | written by            |
 * |----------------------------------|--------|----------------------------------------------------------|-----------------------|
 * | P{p:N}:u:ID:user                 | hash   | name, active, created, wm (last broadcast settled past), | user scripts          |
 * |                                  |        | rmid (highest id ever removed: resume watermark), muted, |                       |
 * |                                  |        | channels                                                 |                       |
 * | P{p:N}:u:ID:inbox                | zset   | item id by seq (own items and settled broadcasts)        | user scripts          |
 * | P{p:N}:u:ID:unread               | zset   | unread item id by seq                                    | user scripts          |
 * | P{p:N}:u:ID:exp                  | zset   | item id by expiresAt                                     | user scripts          |
 * | P{p:N}:u:ID:items                | hash   | own item id -> "type\trank\tjson"; "@" + item id ->     | user scripts          |
 * |                                  |        | readAt ms (a settled broadcast is in the inbox only)     |                       |
 * | P{p:N}:u:ID:dedup                | zset   | dedup key by window end                                  | send                  |
 * | P{p:N}:u:ID:addr                 | hash   | channel -> JSON {channel, address, secret, updatedAt}    | setChannelAddress     |
 * | P{p:N}:seq:P                     | string | the partition's last sequence number (ids.lua: N and P   | send, broadcastPart   |
 * |                                  |        | in the name pick its sub-millisecond slots)              |                       |
 * | P{p:N}:epoch                     | string | the partition's data-set marker: its ids are above it    | ids.lua, epoch        |
 * | P{p:N}:blog                      | zset   | broadcast log: "id|type|createdAt|expiresAt" by seq      | broadcastPart, prune  |
 * | P{p:N}:bdrop                     | zset   | same members by the time the log entry can go            | broadcastPart, prune  |
 * | P{p:N}:bcast                     | hash   | broadcast id -> "type\trank\tjson" (body)                | broadcastPart, prune  |
 * | P{p:N}:bexp                      | zset   | broadcast id by expiresAt (when its body can go)         | broadcastPart, prune  |
 * | P{p:N}:maxexp                    | string | >= latest expiresAt issued (bounds log retention)        | send, broadcastPart   |
 * | P{p:N}:active                    | zset   | the partition's active user ids by activation time       | user scripts          |
 * | P{p:N}:mutecount                 | hash   | type -> active users of the partition who muted it       | user scripts          |
 * | P{p:N}:due                       | zset   | user id by next expiry (item/dedup), or sweep lease end  | user scripts, claimDue|
 * | P{p:N}:req:MINUTE                | hash   | "RID:user" / "b:RID" -> first reply of a request (the    | send, broadcastPart   |
 * |                                  |        | resend guard; MINUTE = the request's `now` in minutes)   |                       |
 * | P{g}:seq                         | string | broadcast and scheduled-send sequence number             | broadcastBegin, sched |
 * | P{g}:req:MINUTE                  | hash   | RID -> first reply of broadcastBegin (resend guard)      | broadcastBegin        |
 * | P{g}:bdedup                      | zset   | broadcast dedup key by window end                        | broadcastBegin        |
 * | P{g}:policies                    | hash   | type -> policy JSON                                      | setPolicy             |
 * | P{g}:templates                   | hash   | name -> template JSON                                    | upsertTemplate        |
 * | P{g}:layout                      | string | "VERSION:PARTITIONS" of this data set (checked at start) | start-up              |
 *
 * P is the configured prefix (DEFAULT_PREFIX, "ntf:"). User ids are restricted to
 * [A-Za-z0-9_.@-] (ids.ts USER_ID) so they can't break a tag: the domain refuses others as bad
 * input, and one that reaches this module anyway is a bug, so building its keys throws.
 */
import { SEQ_ID_WIDTH, checkUserId, decodeSeq } from '../ids.js';
import { DEFAULT_PARTITIONS, partitionOf } from '../partition.js';
import { DEFAULT_PREFIX } from '../prefix.js';
import { JOB_NAME } from '../schedule-store.js';

/** The key layout's version: a server refuses a data set stamped with another (layoutKey). */
export const LAYOUT_VERSION = 2;

/** Where the data set's layout stamp lives: "LAYOUT_VERSION:PARTITIONS". */
export const layoutKey = (prefix = DEFAULT_PREFIX): string => `${prefix}{g}:layout`;

/**
 * A request's replies are kept under the minute of its `now` (a resend carries the same
 * arguments, so it finds them) until that minute is REQUEST_KEEP_MS old.
 */
export const REQUEST_BUCKET_MS = 60_000;
export const REQUEST_KEEP_MS = 2 * REQUEST_BUCKET_MS;

export interface GlobalKeys {
  seq: string;
  bdedup: string;
  policies: string;
  templates: string;
  layout: string;
  /** broadcastBegin's resend guard for requests made at `now` */
  requests(now: number): string;
}

export interface PartitionKeys {
  partition: number;
  seq: string;
  /** the marker of this partition's data set: every id it issued is above it (ids.lua ensureEpoch) */
  epoch: string;
  blog: string;
  bdrop: string;
  bcast: string;
  bexp: string;
  maxexp: string;
  active: string;
  mutecount: string;
  due: string;
  /** the day's counters of sends to this partition's users */
  day(day: string): string;
  /** the resend guard for requests made at `now` */
  requests(now: number): string;
  outbox: OutboxKeys;
}

export interface UserKeys {
  user: string;
  inbox: string;
  unread: string;
  exp: string;
  items: string;
  dedup: string;
  /** channel addresses (deliveries beyond the app) */
  addr: string;
}

export interface KeySpace {
  prefix: string;
  partitions: number;
  global: GlobalKeys;
  /** partition n's keys (made once) */
  partition(n: number): PartitionKeys;
  /** the keys of the partition `userId` belongs to */
  partitionOf(userId: string): PartitionKeys;
  user(userId: string): UserKeys;
  /** the partition of a delivery ("<notification id>-<channel code>"), or null for a malformed id */
  partitionOfDelivery(deliveryId: string): PartitionKeys | null;
}

const minute = (now: number) => Math.floor(now / REQUEST_BUCKET_MS);

/**
 * How long, from `now`, the guard of `now`'s minute is still kept: the same moment for every
 * request of that minute, so the scripts set it once, on the key's first write.
 */
export const requestGuardTtl = (now: number): number => minute(now) * REQUEST_BUCKET_MS + REQUEST_KEEP_MS - now;

/** `make`, remembering its last answer: every send asks for the same day's and minute's keys. */
function lastOf<A, R>(make: (arg: A) => R): (arg: A) => R {
  let last: { arg: A; value: R } | null = null;
  return (arg) => {
    if (last?.arg !== arg) last = { arg, value: make(arg) };
    return last.value;
  };
}

/** The resend guard's key of the minute of `now`. */
function byMinute(key: (name: string) => string): (now: number) => string {
  const ofMinute = lastOf((m: number) => key(`req:${m}`));
  return (now) => ofMinute(minute(now));
}

export function keySpace(prefix = DEFAULT_PREFIX, partitions = DEFAULT_PARTITIONS): KeySpace {
  const globalKey = (name: string) => `${prefix}{g}:${name}`;
  const parts: PartitionKeys[] = [];
  for (let n = 0; n < partitions; n++) {
    const key = (name: string) => `${prefix}{p:${n}}:${name}`;
    parts.push({
      partition: n,
      seq: key(`seq:${partitions}`),
      epoch: key('epoch'),
      blog: key('blog'),
      bdrop: key('bdrop'),
      bcast: key('bcast'),
      bexp: key('bexp'),
      maxexp: key('maxexp'),
      active: key('active'),
      mutecount: key('mutecount'),
      due: key('due'),
      day: lastOf((day: string) => key(`stats:${checkDay(day)}`)),
      requests: byMinute(key),
      outbox: outboxKeysOf(key),
    });
  }
  return {
    prefix,
    partitions,
    global: {
      seq: globalKey('seq'),
      bdedup: globalKey('bdedup'),
      policies: globalKey('policies'),
      templates: globalKey('templates'),
      layout: layoutKey(prefix),
      requests: byMinute(globalKey),
    },
    partition: (n) => parts[n]!,
    partitionOf: (userId) => parts[partitionOf(userId, partitions)]!,
    partitionOfDelivery(deliveryId) {
      const seq = decodeSeq(deliveryId.slice(0, SEQ_ID_WIDTH));
      if (seq === null || deliveryId[SEQ_ID_WIDTH] !== '-') return null;
      // ids.lua: a partition's ids take the sub-millisecond slots c with c mod P = N.
      return parts[(seq % 1024) % partitions]!;
    },
    user(userId) {
      const base = `${prefix}{p:${partitionOf(checkUserId(userId), partitions)}}:u:${userId}:`;
      return {
        user: `${base}user`,
        inbox: `${base}inbox`,
        unread: `${base}unread`,
        exp: `${base}exp`,
        items: `${base}items`,
        dedup: `${base}dedup`,
        addr: `${base}addr`,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Counters and cache (dashboard; src/cache). Separate from the inbox keys above: no inbox
// script reads them, and losing them loses only counters and cached values, never data.
//
// | pattern                          | type   | holds                                                 | TTL              | written by                    |
// |----------------------------------|--------|-------------------------------------------------------|------------------|-------------------------------|
// | P{p:N}:stats:YYYY-MM-DD          | hash   | sent, dedup, type:NAME counts of that UTC day, of the | STATS_TTL_MS     | sendNotification,             |
// |                                  |        | partition's users (PartitionKeys.day; summed on read) |                  | broadcastPart                 |
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
 * recipient's P{p:N}:u:ID:dedup (see sendNotification.lua), so a redelivery is a no-op.
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
// The delivery outbox (src/channels, docs/channels.md): one per partition, in the partition's
// slot, so sendNotification.lua queues into it in the same step that stores the notification.
// ---------------------------------------------------------------------------------------------
/*
 * | pattern                          | type   | holds                                                    | written by                 |
 * |----------------------------------|--------|----------------------------------------------------------|----------------------------|
 * | P{p:N}:o:dlv                     | hash   | delivery id -> JSON record (store/deliveries.ts)         | send, outbox scripts       |
 * | P{p:N}:o:ready:CHANNEL           | stream | entries {d: delivery id} ready to send; group "outbox"   | send, promoteDeliveries    |
 * | P{p:N}:o:due                     | zset   | delivery id by when it may be tried (escalation, retry)  | send, finish, retry        |
 * | P{p:N}:o:log                     | zset   | delivery ids (score 0: id order = creation order)        | send, prune                |
 * | P{p:N}:o:failed                  | zset   | FAILED delivery ids (score 0), the dead letters          | finish, retry, prune       |
 * | P{p:N}:o:counts                  | hash   | STATUS and CHANNEL:STATUS -> deliveries kept             | send, finish, retry, prune |
 * | P{p:N}:o:purge                   | zset   | finished delivery id by when it may be forgotten         | send, finish, retry, prune |
 * | P{o}:rl:NAME:…                   | string | rate-limiter buckets (rate-limiter-flexible)             | outbox throttle            |
 *
 * A delivery id is "<notification id>-<w|t|c>", and a notification id says its partition
 * (ids.lua), so a delivery is found without an index.
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
}

function outboxKeysOf(partitionKey: (name: string) => string): OutboxKeys {
  const key = (name: string) => partitionKey(`o:${name}`);
  const ready = { WEBHOOK: key('ready:WEBHOOK'), TELEGRAM: key('ready:TELEGRAM'), WECOM: key('ready:WECOM') };
  return {
    records: key('dlv'),
    due: key('due'),
    log: key('log'),
    failed: key('failed'),
    counts: key('counts'),
    purge: key('purge'),
    ready: (channel) => ready[channel],
  };
}

/** Key prefix of an outbox rate limiter (rate-limiter-flexible appends ":" and its key). */
export function limiterKey(prefix: string, name: string): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new Error(`limiter name ${JSON.stringify(name)} must match [a-z][a-z0-9-]*`);
  return `${prefix}{o}:rl:${name}`;
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
