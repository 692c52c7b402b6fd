/**
 * Every Redis key this server uses, and nothing else builds one.
 *
 * | pattern                          | type   | holds                                                    | written by            |
 * |----------------------------------|--------|----------------------------------------------------------|-----------------------|
 * | P{g}:seq                         | string | last broadcast / scheduled-send sequence number          | broadcastBegin, sched |
 * | P{g}:bdedup                      | zset   | broadcast dedup key by window end                        | broadcastBegin        |
 * | P{g}:policies                    | hash   | type -> policy JSON                                      | setPolicy             |
 * | P{g}:templates                   | hash   | name -> template JSON                                    | upsertTemplate        |
 * | P{g}:layout                      | string | "VERSION:PARTITIONS" of this data set                    | connect.ts            |
 * | P{p:N}:seq:PARTITIONS            | string | partition N's last issued sequence number (ids.lua)      | user scripts, part    |
 * | P{p:N}:blog                      | zset   | broadcast log: "id|type|createdAt|expiresAt" by seq      | broadcastPart, prune  |
 * | P{p:N}:bdrop                     | zset   | same members by the time the log entry can go            | broadcastPart, prune  |
 * | P{p:N}:bcast                     | hash   | broadcast item id -> "type\trank\tjson" (body)           | broadcastPart, prune  |
 * | P{p:N}:bexp                      | zset   | broadcast item id by expiresAt (when its body can go)    | broadcastPart, prune  |
 * | P{p:N}:maxexp                    | string | latest expiresAt issued in the partition                 | send, broadcastPart   |
 * | P{p:N}:active                    | zset   | the partition's active user ids by activation time       | user scripts          |
 * | P{p:N}:mutecount                 | hash   | type -> number of the partition's active users muting it | user scripts          |
 * | P{p:N}:due                       | zset   | user id by next expiry (item/dedup), or sweep lease end  | user scripts, claimDue|
 * | P{p:N}:stats:YYYY-MM-DD          | hash   | sent, dedup, type:NAME counts of the partition's users   | send, broadcastPart   |
 * | P{p:N}:req:RID                   | hash   | a send request's replies by position (resend guard)      | sendNotification      |
 * | P{p:N}:u:ID:user                 | hash   | name, active, created, wm (settled seq), rmid (highest   | user scripts          |
 * |                                  |        | id ever removed: resume watermark), muted, channels      |                       |
 * | P{p:N}:u:ID:inbox                | zset   | item id by seq (own items and settled broadcasts)        | user scripts          |
 * | P{p:N}:u:ID:unread               | zset   | unread item id by seq                                    | user scripts          |
 * | P{p:N}:u:ID:exp                  | zset   | item id by expiresAt                                     | user scripts          |
 * | P{p:N}:u:ID:items                | hash   | own item id -> "type\trank\tjson"; broadcast id -> ""    | user scripts          |
 * | P{p:N}:u:ID:readat               | hash   | item id -> readAt ms                                     | user scripts          |
 * | P{p:N}:u:ID:dedup                | zset   | dedup key by window end                                  | send                  |
 * | P{p:N}:u:ID:addr                 | hash   | channel -> JSON {channel, address, secret, updatedAt}    | setChannelAddress     |
 *
 * P is the configured prefix (default "ntf:"); N = partitionOf(user id) (REDIS_PARTITIONS). A
 * user's keys and its partition's share the hash tag {p:N}, so every per-user script touches
 * one Redis Cluster slot; the rest share {g}. User ids are restricted to [A-Za-z0-9_.@-] so they
 * can't break a tag. docs/redis-layout.md mirrors this table.
 */

/** How many partitions users are spread over unless configured (REDIS_PARTITIONS). */
export const DEFAULT_PARTITIONS = 16;
/** The key layout's version, stamped in Redis (`{g}:layout`); bump it when keys change meaning. */
export const LAYOUT_VERSION = 2;

/** A user's partition: FNV-1a (32 bit) of the id, mod the partition count. Stable across processes. */
export function partitionOf(userId: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

/** Keys no partition owns; each is read or written in a step of its own. */
export interface GlobalKeys {
  /** broadcast and scheduled-send ids */
  seq: string;
  bdedup: string;
  policies: string;
  templates: string;
  /** the layout stamp: "version:partitions" */
  layout: string;
}

/** One partition's share of what used to be global: all under the tag {p:N}. */
export interface PartitionKeys {
  seq: string;
  blog: string;
  bdrop: string;
  bcast: string;
  bexp: string;
  maxexp: string;
  active: string;
  mutecount: string;
  due: string;
  stats(day: string): string;
  /** results of one send request for this partition's users (resend guard) */
  req(requestId: string): string;
  outbox: OutboxKeys;
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
  partitions: number;
  global: GlobalKeys;
  partitionOf(userId: string): number;
  partition(n: number): PartitionKeys;
  user(userId: string): UserKeys;
}

const REQUEST_ID = /^[0-9A-Za-z_-]{1,64}$/;

export function keySpace(prefix = 'ntf:', partitions = DEFAULT_PARTITIONS): KeySpace {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1023) throw new Error(`partitions must be 1..1023, got ${partitions}`);
  const g = (name: string) => `${prefix}{g}:${name}`;
  const parts: PartitionKeys[] = [];
  const partition = (n: number): PartitionKeys => {
    let k = parts[n];
    if (!k) {
      const t = (name: string) => `${prefix}{p:${n}}:${name}`;
      k = parts[n] = {
        // N and P in the name: ids.lua spaces the partition's ids by them (unique across partitions)
        seq: t(`seq:${partitions}`),
        blog: t('blog'),
        bdrop: t('bdrop'),
        bcast: t('bcast'),
        bexp: t('bexp'),
        maxexp: t('maxexp'),
        active: t('active'),
        mutecount: t('mutecount'),
        due: t('due'),
        stats: (day) => t(`stats:${checkDay(day)}`),
        req: (rid) => {
          if (!REQUEST_ID.test(rid)) throw new Error(`request id must match ${REQUEST_ID}`);
          return t(`req:${rid}`);
        },
        outbox: outboxKeys(prefix, n),
      };
    }
    return k;
  };
  const of = (userId: string) => partitionOf(userId, partitions);
  return {
    prefix,
    partitions,
    global: { seq: g('seq'), bdedup: g('bdedup'), policies: g('policies'), templates: g('templates'), layout: g('layout') },
    partitionOf: of,
    partition,
    user(userId) {
      const u = (name: string) => `${prefix}{p:${of(userId)}}:u:${userId}:${name}`;
      return {
        user: u('user'),
        inbox: u('inbox'),
        unread: u('unread'),
        exp: u('exp'),
        items: u('items'),
        readat: u('readat'),
        dedup: u('dedup'),
        addr: u('addr'),
      };
    },
  };
}

/**
 * The KEYS every per-user script receives, in this order (user-common.lua names them): the
 * user's keys and its partition's, all tagged {p:N}, so one slot.
 */
export function userScriptKeys(ks: KeySpace, userId: string): string[] {
  const u = ks.user(userId);
  const p = ks.partition(ks.partitionOf(userId));
  return [u.user, u.inbox, u.unread, u.exp, u.items, u.readat, u.dedup, p.seq, p.blog, p.bcast, p.active, p.mutecount, p.due, p.maxexp];
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


export interface CacheKeys {
  value(key: string): string;
  lock(key: string): string;
  stats(day: string): string;
}

export function cacheKeys(prefix = 'ntf:'): CacheKeys {
  const check = (key: string) => {
    if (!CACHE_KEY.test(key)) throw new Error(`cache key must match ${CACHE_KEY}, got ${JSON.stringify(key)}`);
    return key;
  };
  return {
    value: (key) => `${prefix}{g}:cache:v:${check(key)}`,
    lock: (key) => `${prefix}{g}:cache:lock:${check(key)}`,
    stats: (day) => `${prefix}{g}:cache:stats:${checkDay(day)}`,
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

/** Job names as they appear in keys (and as jobs/ file names). */
export const JOB_NAME = /^[a-z][a-z0-9-]{0,63}$/;

export interface SchedulerKeys {
  sched: string;
  schedbody: string;
  job(name: string): { status: string; lock: string };
}

export function schedulerKeys(prefix = 'ntf:'): SchedulerKeys {
  const g = (name: string) => `${prefix}{g}:${name}`;
  return {
    sched: g('sched'),
    schedbody: g('schedbody'),
    job(name) {
      if (!JOB_NAME.test(name)) throw new Error(`job name ${JSON.stringify(name)} must match ${JOB_NAME}`);
      return { status: g(`job:${name}`), lock: g(`job:${name}:lock`) };
    },
  };
}


// ---------------------------------------------------------------------------------------------
// The delivery outbox (src/channels, docs/channels.md), one per partition: its keys share the
// partition's tag {p:N}, so sendNotification.lua queues into the user's partition's outbox in its
// own slot, and each outbox script touches one slot. Rate-limiter buckets stay under {o}.
// ---------------------------------------------------------------------------------------------
/*
 * | pattern                          | type   | holds                                                    | written by                 |
 * |----------------------------------|--------|----------------------------------------------------------|----------------------------|
 * | P{p:N}:o:dlv                     | hash   | delivery id -> JSON record (notifications/deliveries.ts) | send, outbox scripts       |
 * | P{p:N}:o:ready:CHANNEL           | stream | entries {d: delivery id} ready to send; group "outbox"   | send, promoteDeliveries    |
 * | P{p:N}:o:due                     | zset   | delivery id by when it may be tried (escalation, retry)  | send, finish, retry        |
 * | P{p:N}:o:log                     | zset   | delivery ids (score 0: id order = creation order)        | send, prune                |
 * | P{p:N}:o:failed                  | zset   | FAILED delivery ids (score 0), the dead letters          | finish, retry, prune       |
 * | P{p:N}:o:counts                  | hash   | STATUS and CHANNEL:STATUS -> deliveries kept             | send, finish, retry, prune |
 * | P{p:N}:o:purge                   | zset   | finished delivery id by when it may be forgotten         | send, finish, retry, prune |
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
}

/** One partition's outbox (tag {p:N}, so sendNotification.lua queues into it in its own slot). */
export function outboxKeys(prefix: string, partition: number): OutboxKeys {
  const o = (name: string) => `${prefix}{p:${partition}}:o:${name}`;
  return {
    records: o('dlv'),
    due: o('due'),
    log: o('log'),
    failed: o('failed'),
    counts: o('counts'),
    purge: o('purge'),
    ready: (channel) => o(`ready:${channel}`),
  };
}

/** Key prefix of a rate limiter (rate-limiter-flexible appends ":" and its key; single-key commands). */
export function limiterKey(prefix: string, name: string): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new Error(`limiter name ${JSON.stringify(name)} must match [a-z][a-z0-9-]*`);
  return `${prefix}{o}:rl:${name}`;
}
