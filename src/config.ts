/**
 * The one module that reads the environment. Everything else receives a
 * {@link Config} as an argument. Variables are documented in docs/configuration.md.
 */
import { z } from 'zod';
import { TOPIC_NAME } from './notifications/ids.js';
import { DEFAULT_PREFIX } from './store/prefix.js';
import { DEFAULT_PARTITIONS, MAX_PARTITIONS } from './store/partition.js';
import type { RedisNode } from './store/redis/connect.js';
import { ROLES, type Role } from './notifications/types.js';
import { ScheduleError, checkTimezone, nextOccurrence, parseCron } from './scheduler/cron.js';
import { DEFAULT_WORK_END_CRON } from './scheduler/jobs.js';
import { readApolloManifest, type PersistedManifest } from './server/persisted-manifest.js';

/** Deployment mode; `production` makes JWT_SECRET mandatory. */
export const NODE_ENVS = ['development', 'production', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

/** `off`: documents only; `allow`: documents and manifest ids; `only`: manifest ids only. */
export const PERSISTED_OPERATIONS_MODES = ['off', 'allow', 'only'] as const;
export type PersistedOperationsMode = (typeof PERSISTED_OPERATIONS_MODES)[number];

/** Algorithms a JWKS may sign with (HS256 belongs to JWT_SECRET). */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** pino's level names (`silent` turns logging off). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Validated server configuration. */
export interface Config {
  /** TCP port to listen on. @default 4000 */
  port: number;
  /** Interface to bind. @default '0.0.0.0' */
  host: string;
  /** redis:// or rediss:// URL of one Redis node; null with no {@link Config.redisClusterNodes}: the embedded in-process memory backend. */
  redisUrl: string | null;
  /** REDIS_CLUSTER_NODES: seeds of a Redis Cluster (never together with redisUrl). @default null */
  redisClusterNodes: RedisNode[] | null;
  /** Partitions users are spread over on Redis (fixed for the life of a data set: the layout stamp records it). @default DEFAULT_PARTITIONS (16) */
  redisPartitions: number;
  /** Replicas every acknowledged write waits for (WAIT) before the mutation answers; 0: none. @default 0 */
  redisWaitReplicas: number;
  /** HS256 secret for JWTs; null: no HS256 tokens (outside production without a JWKS, main.ts makes an ephemeral one). @default null */
  jwtSecret: string | null;
  /**
   * An identity provider's keys (JWT_JWKS_URL) and how to read its tokens (JWT_ISSUER,
   * JWT_AUDIENCE, JWT_ALGORITHMS, JWT_ROLES_CLAIM, JWT_USER_CLAIM); null: HS256 only.
   * @default null (algorithms ['RS256', 'ES256'], rolesClaim 'roles', userClaim 'sub')
   */
  jwks: { url: string; issuer: string | null; audience: string | null; algorithms: string[]; rolesClaim: string; userClaim: string } | null;
  /** Persisted operations: off, allow (documents and ids) or only (ids). @default 'off' */
  persistedOperations: PersistedOperationsMode;
  /** Apollo-format manifests (PERSISTED_OPERATIONS_MANIFESTS), read and checked at start-up, beside the server's own. @default [] */
  persistedOperationsManifests: PersistedManifest[];
  /** @default 'development' */
  nodeEnv: NodeEnv;
  /** Newest-N cap of each inbox. @default 50 */
  inboxCap: number;
  /** Embedded memory backend (no REDIS_URL): users it holds at most; more is RESOURCE_EXHAUSTED. @default 100000 */
  memoryMaxUsers: number;
  /** Embedded memory backend: notifications held at most over all inboxes; a send beyond is RESOURCE_EXHAUSTED. @default 1000000 */
  memoryMaxNotifications: number;
  /** @default 'info' */
  logLevel: LogLevel;
  /** How long graceful shutdown waits for open requests before closing them. @default 10000 */
  shutdownTimeoutMs: number;
  /** Topics reserved to a role: `name=role,...`. @default { dashboard: 'admin' } */
  topicRoles: Record<string, Role>;
  /** graphql-ws ping interval; a client that misses a pong is dropped. @default 12000 */
  wsKeepAliveMs: number;
  /** A WebSocket or SSE client with more than this many bytes waiting to be written to it is closed (slow consumer). @default 1048576 */
  maxBufferedBytes: number;
  /** Prefix of every Redis key and channel, so several deployments can share a Redis. @default DEFAULT_PREFIX ('ntf:') */
  redisKeyPrefix: string;
  /**
   * How long a Redis command may take, queued while Redis is away included, before the request
   * answers SERVICE_UNAVAILABLE (retryable). Keep it below clients' own timeouts. @default 1500
   */
  redisCommandTimeoutMs: number;
  /** How long each dashboard part stays cached, ms. @default { system: 10000, notifications: 30000, cache: 60000 } */
  dashboardTtlMs: { system: number; notifications: number; cache: number };
  /** false: the cross-request cache (dashboard) computes every time; for benchmarks and debugging. @default true */
  cacheEnabled: boolean;
  /** false: this instance fires no scheduled job (runJob still works here). @default true */
  schedulerEnabled: boolean;
  /** Cron of the daily work-end reminder, in {@link Config.schedulerTimezone}. @default '10 17 * * *' */
  workEndCron: string;
  /** IANA zone of the cron jobs (SCHEDULER_TZ, else TZ); null: the server's. @default null */
  schedulerTimezone: string | null;
  /** Deliveries beyond the app (docs/channels.md). */
  delivery: DeliveryConfig;
  /** false: no instrument records anything and `GET /metrics` is not served. @default true */
  metricsEnabled: boolean;
  /** Bearer token `GET /metrics` requires (an admin JWT works too); null: open. @default null */
  metricsToken: string | null;
  /** Mutations per second per principal (token bucket, bursts of twice the rate); 0: no limit. @default { service: 20000, user: 50 } */
  rateLimit: { service: number; user: number };
  /** Open WebSocket connections and SSE streams per user on this instance; 0: no limit. @default 20 */
  maxConnectionsPerUser: number;
  /** Open WebSocket connections and SSE streams on this instance; 0: no limit. @default 50000 */
  maxConnections: number;
  /** Largest HTTP request body and WebSocket message, bytes. @default 1048576 */
  maxBodyBytes: number;
}

export interface DeliveryConfig {
  /** false: this instance sends no deliveries (others still do; they stay queued). @default true */
  workerEnabled: boolean;
  /** First retry waits up to this (full jitter), doubling per attempt. @default 5000 */
  retryBaseMs: number;
  /** Longest wait between two attempts. @default 3600000 */
  retryMaxMs: number;
  /** Attempts before a delivery is FAILED (a dead letter). @default 8 */
  maxAttempts: number;
  /** Attempts in flight per channel on one instance. @default 64 */
  concurrency: number;
  /** Bound of one attempt (connect and response). @default 10000 */
  timeoutMs: number;
  /** A delivery taken by an instance that has not finished it this long is taken over (it died). @default 60000 */
  reclaimIdleMs: number;
  /** WEBHOOK_ALLOW_PRIVATE: webhooks may use http and loopback/private addresses (tests, closed networks). @default false */
  webhookAllowPrivate: boolean;
  /** Telegram bot token; null: TELEGRAM deliveries fail as not configured. @default null */
  telegramBotToken: string | null;
  /** @default 'https://api.telegram.org' */
  telegramApiUrl: string;
  /** @default 'https://qyapi.weixin.qq.com' */
  wecomApiUrl: string;
}

/** Thrown by {@link loadConfig}; the message names every bad variable. */
export class ConfigError extends Error {
  /** One entry per problem, each starting with the variable name. */
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Minimum JWT_SECRET length: 32 chars is 256 bits for an ASCII secret, HS256's key size. */
export const MIN_JWT_SECRET_LENGTH = 32;

// Empty strings count as unset: `FOO=` in a compose file or .env usually means "no value".
const blankToUndefined = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** Thrown by a variable's parser: the message says what is expected (never echoing a secret). */
class BadValue extends Error {}
const bad = (message: string): never => {
  throw new BadValue(message);
};

/**
 * One variable: unset or blank gives `fallback`, anything else goes through `parse`, which
 * returns the value or calls {@link bad}. Every variable below is one of these.
 */
const envVar = <T>(fallback: T, parse: (raw: string) => T) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((raw, ctx): T => {
        if (raw === undefined) return fallback;
        try {
          return parse(raw);
        } catch (err) {
          if (!(err instanceof BadValue)) throw err;
          ctx.addIssue({ code: 'custom', message: err.message });
          return z.NEVER;
        }
      }),
  );

const intVar = (min: number, max: number, fallback: number) =>
  envVar(fallback, (raw) => {
    const text = raw.trim();
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    return Number.isSafeInteger(n) && n >= min && n <= max ? n : bad(`expected an integer ${min}..${max}, got ${JSON.stringify(raw)}`);
  });

const BOOLEANS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false, on: true, off: false };

const booleanVar = (fallback: boolean) =>
  envVar(fallback, (raw) => BOOLEANS[raw.trim().toLowerCase()] ?? bad(`expected true|false (or 1|0, yes|no, on|off), got ${JSON.stringify(raw)}`));

/** A five-field cron expression (src/scheduler/cron.ts), which must fire at least once in 8 years. */
const cronVar = (fallback: string) =>
  envVar(fallback, (raw) => {
    try {
      const cron = parseCron(raw);
      if (nextOccurrence(cron, 'UTC', Date.now()) === null) throw new ScheduleError('never fires');
      return cron.expression;
    } catch (err) {
      if (!(err instanceof ScheduleError)) throw err;
      return bad(`expected a cron expression such as "10 17 * * *" (${err.message}), got ${JSON.stringify(raw)}`);
    }
  });

/** An IANA time zone name; unset: null (the server's). */
const timezoneVar = envVar<string | null>(null, (raw) => {
  try {
    return checkTimezone(raw.trim());
  } catch {
    return bad(`expected an IANA time zone such as Europe/Berlin or UTC, got ${JSON.stringify(raw)}`);
  }
});

const enumVar = <T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  envVar<T[number]>(fallback, (raw) => {
    const v = raw.trim();
    return (values as readonly string[]).includes(v) ? v : bad(`expected one of ${values.join('|')}, got ${JSON.stringify(raw)}`);
  });

/** Hides the password of a URL so it never lands in an error message or a log. */
export function redactUrl(raw: string): string {
  return raw.replace(/\/\/[^@/]*@/, '//***@');
}

/** A URL of one of `protocols` with a host; `what` is how the message names it. */
const urlVar = <T extends string | null>(protocols: readonly string[], what: string, fallback: T, normalise = (u: URL, text: string) => text) =>
  envVar<string | T>(fallback, (raw) => {
    const text = raw.trim();
    let u: URL | null = null;
    try {
      u = new URL(text);
    } catch {
      // reported below
    }
    return u && protocols.includes(u.protocol) && u.hostname !== '' ? normalise(u, text) : bad(`expected ${what}, got ${JSON.stringify(redactUrl(raw))}`);
  });

const redisUrlVar = urlVar(['redis:', 'rediss:'], 'a redis:// or rediss:// URL', null);

/** host:port pairs separated by commas (IPv6 in brackets: [::1]:7000). */
const redisNodesVar = envVar<RedisNode[] | null>(null, (raw) => {
  const nodes = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((seed) => {
      const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(seed);
      const port = Number(m?.[2]);
      if (!m || port < 1 || port > 65535) return bad(`expected host:port seeds separated by commas, such as redis-1:6379,redis-2:6379, got ${JSON.stringify(seed)}`);
      return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
    });
  return nodes.length > 0 ? nodes : bad('expected host:port seeds separated by commas, such as redis-1:6379,redis-2:6379');
});
const httpUrlVar = (fallback: string) => urlVar(['https:', 'http:'], 'an http(s) URL', fallback, (u) => u.href.replace(/\/+$/, ''));
const jwksUrlVar = urlVar(['https:', 'http:'], 'an https:// (or http://) URL', null);

/** A secret of at least `min` characters (`spaces`: whether it may contain any); only its length is ever echoed. */
const secretVar = (min: number, spaces: boolean) =>
  envVar<string | null>(null, (raw) =>
    raw.length >= min && (spaces || !/\s/.test(raw))
      ? raw
      : bad(spaces ? `must be at least ${min} characters, got ${raw.length}` : `must be at least ${min} characters without spaces, got ${raw.length} characters`),
  );

const jwtSecretVar = secretVar(MIN_JWT_SECRET_LENGTH, true);
/** The Telegram bot token: any non-blank text (its format is the Bot API's business). */
const tokenVar = envVar<string | null>(null, (raw) => raw);
/** Any trimmed non-empty string; unset: null. */
const stringVar = envVar<string | null>(null, (raw) => raw.trim());

const jwtAlgorithmsVar = envVar<string[] | null>(null, (raw) => {
  const list = raw.split(',').map((a) => a.trim()).filter(Boolean);
  const wrong = list.filter((a) => !JWKS_ALGORITHMS.includes(a));
  if (list.length === 0 || wrong.length > 0) {
    const hs = wrong.some((a) => a.startsWith('HS')) ? ' (HS256 tokens are verified with JWT_SECRET, not the JWKS)' : '';
    bad(`expected a comma-separated list of ${JWKS_ALGORITHMS.join('|')}${hs}, got ${JSON.stringify(raw)}`);
  }
  return [...new Set(list)];
});

/** A claim path such as `roles`, `realm_access.roles`, `cognito:groups` or `https://example.com/roles`. */
const claimVar = envVar<string | null>(null, (raw) => (/^[^\s]{1,256}$/.test(raw.trim()) ? raw.trim() : bad('expected a claim name or dotted path without spaces')));

const manifestsVar = envVar<PersistedManifest[]>([], (raw) => {
  let manifests: PersistedManifest[];
  try {
    manifests = raw.split(',').map((p) => p.trim()).filter(Boolean).map(readApolloManifest);
  } catch (err) {
    return bad((err as Error).message);
  }
  const seen = new Map<string, string>();
  for (const m of manifests) {
    for (const op of m.operations) {
      if (seen.has(op.id) && seen.get(op.id) !== op.body) bad(`id ${JSON.stringify(op.id)} in ${JSON.stringify(m.path)} names a different document than in an earlier file`);
      seen.set(op.id, op.body);
    }
  }
  return manifests;
});

/** Shortest METRICS_TOKEN: 16 characters, so it can't be guessed the way a short password can. */
export const MIN_METRICS_TOKEN_LENGTH = 16;
const metricsTokenVar = secretVar(MIN_METRICS_TOKEN_LENGTH, false);

const hostVar = envVar('0.0.0.0', (raw) => raw.trim());

const topicRolesVar = envVar<Record<string, Role>>({ dashboard: 'admin' }, (raw) => {
  const out: Record<string, Role> = {};
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name, role] = part.split('=').map((x) => x.trim());
    if (!name || !TOPIC_NAME.test(name) || !role || !(ROLES as readonly string[]).includes(role)) {
      bad(`expected topic=role pairs separated by commas (roles ${ROLES.join('|')}), got ${JSON.stringify(part)}`);
    }
    out[name!] = role as Role;
  }
  return out;
});

const keyPrefixVar = envVar(DEFAULT_PREFIX, (raw) => (/^[A-Za-z0-9_.:-]{1,64}$/.test(raw) ? raw : bad('expected 1-64 characters of A-Z a-z 0-9 _ . : -')));

const envSchema = z.object({
  PORT: intVar(1, 65535, 4000),
  HOST: hostVar,
  REDIS_URL: redisUrlVar,
  REDIS_CLUSTER_NODES: redisNodesVar,
  REDIS_PARTITIONS: intVar(1, MAX_PARTITIONS, DEFAULT_PARTITIONS),
  REDIS_WAIT_REPLICAS: intVar(0, 5, 0),
  JWT_SECRET: jwtSecretVar,
  JWT_JWKS_URL: jwksUrlVar,
  JWT_ISSUER: stringVar,
  JWT_AUDIENCE: stringVar,
  JWT_ALGORITHMS: jwtAlgorithmsVar,
  JWT_ROLES_CLAIM: claimVar,
  JWT_USER_CLAIM: claimVar,
  PERSISTED_OPERATIONS: enumVar(PERSISTED_OPERATIONS_MODES, 'off'),
  PERSISTED_OPERATIONS_MANIFESTS: manifestsVar,
  NODE_ENV: enumVar(NODE_ENVS, 'development'),
  INBOX_CAP: intVar(1, 10_000, 50),
  MEMORY_MAX_USERS: intVar(1, 100_000_000, 100_000),
  MEMORY_MAX_NOTIFICATIONS: intVar(1, 1_000_000_000, 1_000_000),
  LOG_LEVEL: enumVar(LOG_LEVELS, 'info'),
  SHUTDOWN_TIMEOUT_MS: intVar(0, 600_000, 10_000),
  TOPIC_ROLES: topicRolesVar,
  WS_KEEPALIVE_MS: intVar(1000, 600_000, 12_000),
  MAX_BUFFERED_BYTES: intVar(16 * 1024, 1024 * 1024 * 1024, 1024 * 1024),
  DASHBOARD_TTL_SYSTEM_MS: intVar(0, 86_400_000, 10_000),
  DASHBOARD_TTL_NOTIFICATIONS_MS: intVar(0, 86_400_000, 30_000),
  DASHBOARD_TTL_CACHE_MS: intVar(0, 86_400_000, 60_000),
  CACHE_ENABLED: booleanVar(true),
  SCHEDULER_ENABLED: booleanVar(true),
  METRICS_ENABLED: booleanVar(true),
  METRICS_TOKEN: metricsTokenVar,
  WORK_END_CRON: cronVar(DEFAULT_WORK_END_CRON),
  SCHEDULER_TZ: timezoneVar,
  TZ: timezoneVar,
  DELIVERY_WORKER_ENABLED: booleanVar(true),
  DELIVERY_RETRY_BASE_MS: intVar(1, 86_400_000, 5000),
  DELIVERY_RETRY_MAX_MS: intVar(1, 7 * 86_400_000, 3_600_000),
  DELIVERY_MAX_ATTEMPTS: intVar(1, 100, 8),
  DELIVERY_CONCURRENCY: intVar(1, 1000, 64),
  DELIVERY_TIMEOUT_MS: intVar(100, 600_000, 10_000),
  DELIVERY_RECLAIM_IDLE_MS: intVar(1000, 86_400_000, 60_000),
  WEBHOOK_ALLOW_PRIVATE: booleanVar(false),
  TELEGRAM_BOT_TOKEN: tokenVar,
  TELEGRAM_API_URL: httpUrlVar('https://api.telegram.org'),
  WECOM_API_URL: httpUrlVar('https://qyapi.weixin.qq.com'),
  RATE_LIMIT_SERVICE: intVar(0, 10_000_000, 20_000),
  RATE_LIMIT_USER: intVar(0, 10_000_000, 50),
  MAX_CONNECTIONS_PER_USER: intVar(0, 10_000_000, 20),
  MAX_CONNECTIONS: intVar(0, 10_000_000, 50_000),
  MAX_BODY_BYTES: intVar(1024, 100 * 1024 * 1024, 1024 * 1024),
  REDIS_COMMAND_TIMEOUT_MS: intVar(50, 60_000, 1500),
  REDIS_KEY_PREFIX: keyPrefixVar,
});

/**
 * Parses the environment into a {@link Config}.
 *
 * @param env - the variables to read; tests pass a plain object.
 * @throws {@link ConfigError} naming each invalid variable, e.g.
 *   `Invalid configuration: PORT: expected an integer 1..65535, got "abc"`.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  // Cross-field rules, checked only once each variable is valid on its own.
  if (e.REDIS_URL !== null && e.REDIS_CLUSTER_NODES !== null) {
    throw new ConfigError(['REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis node or REDIS_CLUSTER_NODES for a Redis Cluster, not both']);
  }
  if (e.NODE_ENV === 'production' && e.JWT_SECRET === null && e.JWT_JWKS_URL === null) {
    throw new ConfigError([
      `JWT_SECRET or JWT_JWKS_URL is required when NODE_ENV=production: set JWT_SECRET to a random string of at least ${MIN_JWT_SECRET_LENGTH} characters (e.g. openssl rand -base64 48), or JWT_JWKS_URL to your identity provider's JWKS`,
    ]);
  }
  const jwksOnly = (['JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_ALGORITHMS', 'JWT_ROLES_CLAIM', 'JWT_USER_CLAIM'] as const).filter((k) => e[k] !== null);
  if (e.JWT_JWKS_URL === null && jwksOnly.length > 0) {
    throw new ConfigError(jwksOnly.map((k) => `${k}: applies to tokens verified with JWT_JWKS_URL, which is not set`));
  }
  // A provider's keys sign tokens for every client of the realm or tenant: without these
  // checks a token issued for another application would be accepted here.
  const unchecked = (['JWT_ISSUER', 'JWT_AUDIENCE'] as const).filter((k) => e[k] === null);
  if (e.NODE_ENV === 'production' && e.JWT_JWKS_URL !== null && unchecked.length > 0) {
    throw new ConfigError(unchecked.map((k) => `${k} is required with JWT_JWKS_URL when NODE_ENV=production`));
  }
  return {
    port: e.PORT,
    host: e.HOST,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    redisPartitions: e.REDIS_PARTITIONS,
    redisWaitReplicas: e.REDIS_WAIT_REPLICAS,
    jwtSecret: e.JWT_SECRET,
    jwks:
      e.JWT_JWKS_URL === null
        ? null
        : {
            url: e.JWT_JWKS_URL,
            issuer: e.JWT_ISSUER,
            audience: e.JWT_AUDIENCE,
            algorithms: e.JWT_ALGORITHMS ?? ['RS256', 'ES256'],
            rolesClaim: e.JWT_ROLES_CLAIM ?? 'roles',
            userClaim: e.JWT_USER_CLAIM ?? 'sub',
          },
    persistedOperations: e.PERSISTED_OPERATIONS,
    persistedOperationsManifests: e.PERSISTED_OPERATIONS_MANIFESTS,
    nodeEnv: e.NODE_ENV,
    inboxCap: e.INBOX_CAP,
    memoryMaxUsers: e.MEMORY_MAX_USERS,
    memoryMaxNotifications: e.MEMORY_MAX_NOTIFICATIONS,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    topicRoles: e.TOPIC_ROLES,
    wsKeepAliveMs: e.WS_KEEPALIVE_MS,
    maxBufferedBytes: e.MAX_BUFFERED_BYTES,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    dashboardTtlMs: { system: e.DASHBOARD_TTL_SYSTEM_MS, notifications: e.DASHBOARD_TTL_NOTIFICATIONS_MS, cache: e.DASHBOARD_TTL_CACHE_MS },
    cacheEnabled: e.CACHE_ENABLED,
    schedulerEnabled: e.SCHEDULER_ENABLED,
    workEndCron: e.WORK_END_CRON,
    schedulerTimezone: e.SCHEDULER_TZ ?? e.TZ,
    metricsEnabled: e.METRICS_ENABLED,
    metricsToken: e.METRICS_TOKEN,
    delivery: {
      workerEnabled: e.DELIVERY_WORKER_ENABLED,
      retryBaseMs: e.DELIVERY_RETRY_BASE_MS,
      retryMaxMs: e.DELIVERY_RETRY_MAX_MS,
      maxAttempts: e.DELIVERY_MAX_ATTEMPTS,
      concurrency: e.DELIVERY_CONCURRENCY,
      timeoutMs: e.DELIVERY_TIMEOUT_MS,
      reclaimIdleMs: e.DELIVERY_RECLAIM_IDLE_MS,
      webhookAllowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
      telegramBotToken: e.TELEGRAM_BOT_TOKEN,
      telegramApiUrl: e.TELEGRAM_API_URL,
      wecomApiUrl: e.WECOM_API_URL,
    },
    rateLimit: { service: e.RATE_LIMIT_SERVICE, user: e.RATE_LIMIT_USER },
    maxConnectionsPerUser: e.MAX_CONNECTIONS_PER_USER,
    maxConnections: e.MAX_CONNECTIONS,
    maxBodyBytes: e.MAX_BODY_BYTES,
  };
}
