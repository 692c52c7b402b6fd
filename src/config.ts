/**
 * The one module that reads the environment. Everything else receives a
 * {@link Config} as an argument. Variables are documented in docs/configuration.md.
 */
import { z } from 'zod';
import { TOPIC_NAME } from './notifications/ids.js';
import { ROLES, type Role } from './notifications/types.js';
import { ScheduleError, checkTimezone, nextOccurrence, parseCron } from './scheduler/cron.js';
import { DEFAULT_WORK_END_CRON } from './scheduler/jobs.js';

/** Deployment mode; `production` makes JWT_SECRET mandatory. */
export const NODE_ENVS = ['development', 'production', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

/** pino's level names (`silent` turns logging off). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Validated server configuration. */
export interface Config {
  /** TCP port to listen on. @default 4000 */
  port: number;
  /** Interface to bind. @default '0.0.0.0' */
  host: string;
  /** redis:// or rediss:// URL; null selects the embedded in-process memory backend. */
  redisUrl: string | null;
  /** HS256 secret for JWTs; null only outside production (main.ts then makes an ephemeral one). */
  jwtSecret: string | null;
  /** @default 'development' */
  nodeEnv: NodeEnv;
  /** Newest-N cap of each inbox. @default 50 */
  inboxCap: number;
  /** @default 'info' */
  logLevel: LogLevel;
  /** How long graceful shutdown waits for open requests before closing them. @default 10000 */
  shutdownTimeoutMs: number;
  /** Topics reserved to a role: `name=role,...`. @default { dashboard: 'admin' } */
  topicRoles: Record<string, Role>;
  /** graphql-ws ping interval; a client that misses a pong is dropped. @default 12000 */
  wsKeepAliveMs: number;
  /** Prefix of every Redis key and channel, so several deployments can share a Redis. @default 'ntf:' */
  redisKeyPrefix: string;
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
  /** Mutations per second per principal (token bucket, bursts of twice the rate); 0: no limit. @default { service: 20000, user: 50 } */
  rateLimit: { service: number; user: number };
  /** Open WebSocket connections and SSE streams per user on this instance; 0: no limit. @default 20 */
  maxConnectionsPerUser: number;
  /** Open WebSocket connections and SSE streams on this instance; 0: no limit. @default 50000 */
  maxConnections: number;
  /** Largest HTTP request body and WebSocket message, bytes. @default 1048576 */
  maxBodyBytes: number;
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

const intVar = (min: number, max: number, fallback: number) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((raw, ctx): number => {
        if (raw === undefined) return fallback;
        const text = raw.trim();
        const n = /^\d+$/.test(text) ? Number(text) : NaN;
        if (!Number.isSafeInteger(n) || n < min || n > max) {
          ctx.addIssue({ code: 'custom', message: `expected an integer ${min}..${max}, got ${JSON.stringify(raw)}` });
          return z.NEVER;
        }
        return n;
      }),
  );

const BOOLEANS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false, on: true, off: false };

const booleanVar = (fallback: boolean) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((raw, ctx): boolean => {
        if (raw === undefined) return fallback;
        const v = BOOLEANS[raw.trim().toLowerCase()];
        if (v === undefined) {
          ctx.addIssue({ code: 'custom', message: `expected true|false (or 1|0, yes|no, on|off), got ${JSON.stringify(raw)}` });
          return z.NEVER;
        }
        return v;
      }),
  );

/** A five-field cron expression (src/scheduler/cron.ts), which must fire at least once in 8 years. */
const cronVar = (fallback: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((raw, ctx): string => {
        if (raw === undefined) return fallback;
        try {
          const cron = parseCron(raw);
          if (nextOccurrence(cron, 'UTC', Date.now()) === null) throw new ScheduleError('never fires');
          return cron.expression;
        } catch (err) {
          if (!(err instanceof ScheduleError)) throw err;
          ctx.addIssue({ code: 'custom', message: `expected a cron expression such as "10 17 * * *" (${err.message}), got ${JSON.stringify(raw)}` });
          return z.NEVER;
        }
      }),
  );

/** An IANA time zone name; unset: null (the server's). */
const timezoneVar = z.preprocess(
  blankToUndefined,
  z
    .string()
    .optional()
    .transform((raw, ctx): string | null => {
      if (raw === undefined) return null;
      try {
        return checkTimezone(raw.trim());
      } catch {
        ctx.addIssue({ code: 'custom', message: `expected an IANA time zone such as Europe/Berlin or UTC, got ${JSON.stringify(raw)}` });
        return z.NEVER;
      }
    }),
);

const enumVar = <T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((raw, ctx): T[number] => {
        if (raw === undefined) return fallback;
        const v = raw.trim();
        if (!(values as readonly string[]).includes(v)) {
          ctx.addIssue({ code: 'custom', message: `expected one of ${values.join('|')}, got ${JSON.stringify(raw)}` });
          return z.NEVER;
        }
        return v as T[number];
      }),
  );

/** Hides the password of a URL so it never lands in an error message or a log. */
export function redactUrl(raw: string): string {
  return raw.replace(/\/\/[^@/]*@/, '//***@');
}

const redisUrlVar = z.preprocess(
  blankToUndefined,
  z
    .string()
    .optional()
    .transform((raw, ctx): string | null => {
      if (raw === undefined) return null;
      const text = raw.trim();
      let ok = false;
      try {
        const u = new URL(text);
        ok = (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
      } catch {
        ok = false;
      }
      if (!ok) {
        ctx.addIssue({ code: 'custom', message: `expected a redis:// or rediss:// URL, got ${JSON.stringify(redactUrl(raw))}` });
        return z.NEVER;
      }
      return text;
    }),
);

const jwtSecretVar = z.preprocess(
  blankToUndefined,
  z
    .string()
    .optional()
    .transform((raw, ctx): string | null => {
      if (raw === undefined) return null;
      // Never echo the secret itself, only its length.
      if (raw.length < MIN_JWT_SECRET_LENGTH) {
        ctx.addIssue({
          code: 'custom',
          message: `must be at least ${MIN_JWT_SECRET_LENGTH} characters, got ${raw.length}`,
        });
        return z.NEVER;
      }
      return raw;
    }),
);

const hostVar = z.preprocess(
  blankToUndefined,
  z
    .string()
    .optional()
    .transform((raw) => raw?.trim() ?? '0.0.0.0'),
);

const topicRolesVar = z.preprocess(
  blankToUndefined,
  z
    .string()
    .optional()
    .transform((raw, ctx): Record<string, Role> => {
      if (raw === undefined) return { dashboard: 'admin' };
      const out: Record<string, Role> = {};
      for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
        const [name, role] = part.split('=').map((x) => x.trim());
        if (!name || !TOPIC_NAME.test(name) || !role || !(ROLES as readonly string[]).includes(role)) {
          ctx.addIssue({ code: 'custom', message: `expected topic=role pairs separated by commas (roles ${ROLES.join('|')}), got ${JSON.stringify(part)}` });
          return z.NEVER;
        }
        out[name] = role as Role;
      }
      return out;
    }),
);

const envSchema = z.object({
  PORT: intVar(1, 65535, 4000),
  HOST: hostVar,
  REDIS_URL: redisUrlVar,
  JWT_SECRET: jwtSecretVar,
  NODE_ENV: enumVar(NODE_ENVS, 'development'),
  INBOX_CAP: intVar(1, 1000, 50),
  LOG_LEVEL: enumVar(LOG_LEVELS, 'info'),
  SHUTDOWN_TIMEOUT_MS: intVar(0, 600_000, 10_000),
  TOPIC_ROLES: topicRolesVar,
  WS_KEEPALIVE_MS: intVar(1000, 600_000, 12_000),
  DASHBOARD_TTL_SYSTEM_MS: intVar(0, 86_400_000, 10_000),
  DASHBOARD_TTL_NOTIFICATIONS_MS: intVar(0, 86_400_000, 30_000),
  DASHBOARD_TTL_CACHE_MS: intVar(0, 86_400_000, 60_000),
  CACHE_ENABLED: booleanVar(true),
  SCHEDULER_ENABLED: booleanVar(true),
  WORK_END_CRON: cronVar(DEFAULT_WORK_END_CRON),
  SCHEDULER_TZ: timezoneVar,
  TZ: timezoneVar,
  RATE_LIMIT_SERVICE: intVar(0, 10_000_000, 20_000),
  RATE_LIMIT_USER: intVar(0, 10_000_000, 50),
  MAX_CONNECTIONS_PER_USER: intVar(0, 10_000_000, 20),
  MAX_CONNECTIONS: intVar(0, 10_000_000, 50_000),
  MAX_BODY_BYTES: intVar(1024, 100 * 1024 * 1024, 1024 * 1024),
  REDIS_KEY_PREFIX: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1-64 characters of A-Z a-z 0-9 _ . : -')
      .optional()
      .transform((v) => v ?? 'ntf:'),
  ),
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
  // Cross-field rule, checked only once each variable is valid on its own.
  if (e.NODE_ENV === 'production' && e.JWT_SECRET === null) {
    throw new ConfigError([`JWT_SECRET is required when NODE_ENV=production: set it to a random string of at least ${MIN_JWT_SECRET_LENGTH} characters (e.g. openssl rand -base64 48)`]);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    redisUrl: e.REDIS_URL,
    jwtSecret: e.JWT_SECRET,
    nodeEnv: e.NODE_ENV,
    inboxCap: e.INBOX_CAP,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    topicRoles: e.TOPIC_ROLES,
    wsKeepAliveMs: e.WS_KEEPALIVE_MS,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    dashboardTtlMs: { system: e.DASHBOARD_TTL_SYSTEM_MS, notifications: e.DASHBOARD_TTL_NOTIFICATIONS_MS, cache: e.DASHBOARD_TTL_CACHE_MS },
    cacheEnabled: e.CACHE_ENABLED,
    schedulerEnabled: e.SCHEDULER_ENABLED,
    workEndCron: e.WORK_END_CRON,
    schedulerTimezone: e.SCHEDULER_TZ ?? e.TZ,
    rateLimit: { service: e.RATE_LIMIT_SERVICE, user: e.RATE_LIMIT_USER },
    maxConnectionsPerUser: e.MAX_CONNECTIONS_PER_USER,
    maxConnections: e.MAX_CONNECTIONS,
    maxBodyBytes: e.MAX_BODY_BYTES,
  };
}
