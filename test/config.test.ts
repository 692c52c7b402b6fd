import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const SECRET = 's'.repeat(32);

/** Calls loadConfig expecting a ConfigError and returns its message. */
function configError(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('applies defaults to an empty environment', () => {
    expect(loadConfig({})).toEqual({
      port: 4000,
      host: '0.0.0.0',
      redisUrl: null,
      redisClusterNodes: null,
      redisPartitions: 16,
      redisWaitReplicas: 0,
      jwtSecret: null,
      nodeEnv: 'development',
      inboxCap: 50,
      memoryMaxUsers: 100_000,
      memoryMaxNotifications: 1_000_000,
      logLevel: 'info',
      shutdownTimeoutMs: 10_000,
      topicRoles: { dashboard: 'admin' },
      wsKeepAliveMs: 12_000,
      maxBufferedBytes: 1_048_576,
      redisKeyPrefix: 'ntf:',
      redisCommandTimeoutMs: 1500,
      dashboardTtlMs: { system: 10_000, notifications: 30_000, cache: 60_000 },
      cacheEnabled: true,
      schedulerEnabled: true,
      workEndCron: '10 17 * * *',
      schedulerTimezone: null,
      jwks: null,
      persistedOperations: 'off',
      persistedOperationsManifests: [],
      delivery: {
        workerEnabled: true,
        retryBaseMs: 5000,
        retryMaxMs: 3_600_000,
        maxAttempts: 8,
        concurrency: 64,
        timeoutMs: 10_000,
        reclaimIdleMs: 60_000,
        webhookAllowPrivate: false,
        telegramBotToken: null,
        telegramApiUrl: 'https://api.telegram.org',
        wecomApiUrl: 'https://qyapi.weixin.qq.com',
      },
      metricsEnabled: true,
      metricsToken: null,
      rateLimit: { service: 20_000, user: 50 },
      maxConnectionsPerUser: 20,
      maxConnections: 50_000,
      maxBodyBytes: 1_048_576,
    });
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        PORT: '8080',
        HOST: '127.0.0.1',
        REDIS_URL: 'rediss://user:pw@redis.example:6380/2',
        JWT_SECRET: SECRET,
        NODE_ENV: 'production',
        INBOX_CAP: '1000',
        MEMORY_MAX_USERS: '10',
        MEMORY_MAX_NOTIFICATIONS: '20',
        LOG_LEVEL: 'debug',
        SHUTDOWN_TIMEOUT_MS: '0',
        TOPIC_ROLES: 'dashboard=admin, ops.alerts=service',
        WS_KEEPALIVE_MS: '5000',
        MAX_BUFFERED_BYTES: '65536',
        REDIS_KEY_PREFIX: 'acme:',
        REDIS_COMMAND_TIMEOUT_MS: '800',
        REDIS_PARTITIONS: '64',
        REDIS_WAIT_REPLICAS: '1',
        DASHBOARD_TTL_SYSTEM_MS: '5000',
        DASHBOARD_TTL_NOTIFICATIONS_MS: '0',
        DASHBOARD_TTL_CACHE_MS: '120000',
        CACHE_ENABLED: 'off',
        SCHEDULER_ENABLED: 'false',
        WORK_END_CRON: ' 0  18 * * 1-5 ',
        SCHEDULER_TZ: 'Europe/Berlin',
        TZ: 'UTC',
        JWT_JWKS_URL: 'https://idp.example/realms/acme/protocol/openid-connect/certs',
        JWT_ISSUER: 'https://idp.example/realms/acme',
        JWT_AUDIENCE: 'notifications',
        JWT_ALGORITHMS: 'RS256, PS256',
        JWT_ROLES_CLAIM: 'resource_access.notifications.roles',
        JWT_USER_CLAIM: 'preferred_username',
        PERSISTED_OPERATIONS: 'only',
        DELIVERY_WORKER_ENABLED: 'no',
        DELIVERY_RETRY_BASE_MS: '100',
        DELIVERY_RETRY_MAX_MS: '60000',
        DELIVERY_MAX_ATTEMPTS: '3',
        DELIVERY_CONCURRENCY: '4',
        DELIVERY_TIMEOUT_MS: '3000',
        DELIVERY_RECLAIM_IDLE_MS: '5000',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        TELEGRAM_BOT_TOKEN: '123:abc',
        TELEGRAM_API_URL: 'http://127.0.0.1:8081/',
        WECOM_API_URL: 'http://127.0.0.1:8082',
        METRICS_ENABLED: 'no',
        METRICS_TOKEN: 'scrape-token-0123456789',
        RATE_LIMIT_SERVICE: '0',
        RATE_LIMIT_USER: '7',
        MAX_CONNECTIONS_PER_USER: '3',
        MAX_CONNECTIONS: '0',
        MAX_BODY_BYTES: '2048',
      }),
    ).toEqual({
      port: 8080,
      host: '127.0.0.1',
      redisUrl: 'rediss://user:pw@redis.example:6380/2',
      redisClusterNodes: null,
      redisPartitions: 64,
      redisWaitReplicas: 1,
      jwtSecret: SECRET,
      nodeEnv: 'production',
      inboxCap: 1000,
      memoryMaxUsers: 10,
      memoryMaxNotifications: 20,
      logLevel: 'debug',
      shutdownTimeoutMs: 0,
      topicRoles: { dashboard: 'admin', 'ops.alerts': 'service' },
      wsKeepAliveMs: 5000,
      maxBufferedBytes: 65_536,
      redisKeyPrefix: 'acme:',
      redisCommandTimeoutMs: 800,
      dashboardTtlMs: { system: 5000, notifications: 0, cache: 120_000 },
      cacheEnabled: false,
      schedulerEnabled: false,
      workEndCron: '0 18 * * 1-5',
      schedulerTimezone: 'Europe/Berlin',
      jwks: {
        url: 'https://idp.example/realms/acme/protocol/openid-connect/certs',
        issuer: 'https://idp.example/realms/acme',
        audience: 'notifications',
        algorithms: ['RS256', 'PS256'],
        rolesClaim: 'resource_access.notifications.roles',
        userClaim: 'preferred_username',
      },
      persistedOperations: 'only',
      persistedOperationsManifests: [],
      delivery: {
        workerEnabled: false,
        retryBaseMs: 100,
        retryMaxMs: 60_000,
        maxAttempts: 3,
        concurrency: 4,
        timeoutMs: 3000,
        reclaimIdleMs: 5000,
        webhookAllowPrivate: true,
        telegramBotToken: '123:abc',
        telegramApiUrl: 'http://127.0.0.1:8081',
        wecomApiUrl: 'http://127.0.0.1:8082',
      },
      metricsEnabled: false,
      metricsToken: 'scrape-token-0123456789',
      rateLimit: { service: 0, user: 7 },
      maxConnectionsPerUser: 3,
      maxConnections: 0,
      maxBodyBytes: 2048,
    });
  });

  it('reads REDIS_CLUSTER_NODES as a list of seeds (host names, IPv4, bracketed IPv6)', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: ' redis-1:7000, 10.0.0.2:7001 ,[::1]:7002,' }).redisClusterNodes).toEqual([
      { host: 'redis-1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:7000' }).redisUrl).toBeNull();
  });

  it('refuses REDIS_URL and REDIS_CLUSTER_NODES together, naming both', () => {
    expect(configError({ REDIS_URL: 'redis://redis:6379', REDIS_CLUSTER_NODES: 'redis-1:7000' })).toBe(
      'Invalid configuration: REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis node or REDIS_CLUSTER_NODES for a Redis Cluster, not both',
    );
  });

  it('takes the scheduler zone from TZ when SCHEDULER_TZ is unset', () => {
    expect(loadConfig({ TZ: 'America/New_York' }).schedulerTimezone).toBe('America/New_York');
    expect(loadConfig({ TZ: 'America/New_York', SCHEDULER_TZ: 'Asia/Tokyo' }).schedulerTimezone).toBe('Asia/Tokyo');
  });

  it('rejects a short METRICS_TOKEN without echoing it', () => {
    const message = configError({ METRICS_TOKEN: 'short-secret' });
    expect(message).toMatch(/^Invalid configuration: METRICS_TOKEN: must be at least 16 characters/);
    expect(message).not.toContain('short-secret');
  });

  it('rejects a malformed TOPIC_ROLES entry, naming it', () => {
    expect(configError({ TOPIC_ROLES: 'dashboard=root' })).toMatch(/^Invalid configuration: TOPIC_ROLES: .*"dashboard=root"/);
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({ PORT: '', REDIS_URL: '', JWT_SECRET: '  ', LOG_LEVEL: '' });
    expect([c.port, c.redisUrl, c.jwtSecret, c.logLevel]).toEqual([4000, null, null, 'info']);
  });

  it('reads process.env by default', () => {
    vi.stubEnv('PORT', '4321');
    vi.stubEnv('NODE_ENV', 'test');
    try {
      expect(loadConfig().port).toBe(4321);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it.each([
    ['PORT', 'abc', 'PORT: expected an integer 1..65535, got "abc"'],
    ['PORT', '0', 'PORT: expected an integer 1..65535, got "0"'],
    ['PORT', '65536', 'PORT: expected an integer 1..65535, got "65536"'],
    ['PORT', '80.5', 'PORT: expected an integer 1..65535, got "80.5"'],
    ['INBOX_CAP', '10001', 'INBOX_CAP: expected an integer 1..10000, got "10001"'],
    ['INBOX_CAP', '-1', 'INBOX_CAP: expected an integer 1..10000, got "-1"'],
    ['MAX_BUFFERED_BYTES', '1000', 'MAX_BUFFERED_BYTES: expected an integer 16384..1073741824, got "1000"'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon', 'SHUTDOWN_TIMEOUT_MS: expected an integer'],
    ['NODE_ENV', 'prod', 'NODE_ENV: expected one of development|production|test, got "prod"'],
    ['LOG_LEVEL', 'verbose', 'LOG_LEVEL: expected one of fatal|error|warn|info|debug|trace|silent, got "verbose"'],
    ['REDIS_URL', 'localhost:6379', 'REDIS_URL: expected a redis:// or rediss:// URL, got "localhost:6379"'],
    ['REDIS_URL', 'http://redis:6379', 'REDIS_URL: expected a redis:// or rediss:// URL'],
    ['REDIS_CLUSTER_NODES', 'redis://redis-1:7000', 'REDIS_CLUSTER_NODES: expected host:port seeds separated by commas, such as redis-1:6379,redis-2:6379, got "redis://redis-1:7000"'],
    ['REDIS_CLUSTER_NODES', 'redis-1:7000,redis-2', 'REDIS_CLUSTER_NODES: expected host:port seeds separated by commas, such as redis-1:6379,redis-2:6379, got "redis-2"'],
    ['REDIS_CLUSTER_NODES', 'redis-1:70000', 'REDIS_CLUSTER_NODES: expected host:port seeds separated by commas, such as redis-1:6379,redis-2:6379, got "redis-1:70000"'],
    ['REDIS_CLUSTER_NODES', ',', 'REDIS_CLUSTER_NODES: expected host:port seeds separated by commas'],
    ['REDIS_PARTITIONS', '0', 'REDIS_PARTITIONS: expected an integer 1..64, got "0"'],
    ['REDIS_PARTITIONS', '65', 'REDIS_PARTITIONS: expected an integer 1..64, got "65"'],
    ['REDIS_WAIT_REPLICAS', '6', 'REDIS_WAIT_REPLICAS: expected an integer 0..5, got "6"'],
    ['REDIS_WAIT_REPLICAS', 'one', 'REDIS_WAIT_REPLICAS: expected an integer 0..5, got "one"'],
    ['JWT_SECRET', 'short', 'JWT_SECRET: must be at least 32 characters, got 5'],
    ['DASHBOARD_TTL_CACHE_MS', '1.5', 'DASHBOARD_TTL_CACHE_MS: expected an integer 0..86400000, got "1.5"'],
    ['CACHE_ENABLED', 'maybe', 'CACHE_ENABLED: expected true|false (or 1|0, yes|no, on|off), got "maybe"'],
    ['SCHEDULER_ENABLED', 'sometimes', 'SCHEDULER_ENABLED: expected true|false'],
    ['WORK_END_CRON', '61 17 * * *', `WORK_END_CRON: expected a cron expression such as "10 17 * * *" (Number '61' of minutes field is bigger than upper limit '59'), got "61 17 * * *"`],
    ['WORK_END_CRON', '@daily', 'WORK_END_CRON: expected a cron expression'],
    ['WORK_END_CRON', '0 0 30 2 *', 'WORK_END_CRON: expected a cron expression such as "10 17 * * *" (never fires)'],
    ['SCHEDULER_TZ', 'Mars/Olympus', 'SCHEDULER_TZ: expected an IANA time zone such as Europe/Berlin or UTC, got "Mars/Olympus"'],
    ['TZ', 'Nowhere', 'TZ: expected an IANA time zone'],
    ['JWT_JWKS_URL', 'idp.example/certs', 'JWT_JWKS_URL: expected an https:// (or http://) URL, got "idp.example/certs"'],
    ['JWT_JWKS_URL', 'ftp://idp.example/certs', 'JWT_JWKS_URL: expected an https:// (or http://) URL'],
    ['JWT_ALGORITHMS', 'HS256', 'JWT_ALGORITHMS: expected a comma-separated list of RS256|RS384|RS512|PS256|PS384|PS512|ES256|ES384|ES512|EdDSA|Ed25519 (HS256 tokens are verified with JWT_SECRET, not the JWKS), got "HS256"'],
    ['JWT_ROLES_CLAIM', 'realm access.roles', 'JWT_ROLES_CLAIM: expected a claim name or dotted path without spaces'],
    ['PERSISTED_OPERATIONS', 'on', 'PERSISTED_OPERATIONS: expected one of off|allow|only, got "on"'],
    ['PERSISTED_OPERATIONS_MANIFESTS', '/nonexistent/apollo.json', 'PERSISTED_OPERATIONS_MANIFESTS: cannot read "/nonexistent/apollo.json": ENOENT'],
  ])('rejects %s=%j naming the variable', (name, value, expected) => {
    expect.assertions(3);
    const message = configError({ [name]: value });
    expect(message.startsWith('Invalid configuration: ')).toBe(true);
    expect(message).toContain(expected);
  });

  it('reports every bad variable at once', () => {
    expect.assertions(2);
    const message = configError({ PORT: 'x', INBOX_CAP: '0', LOG_LEVEL: 'loud' });
    expect(message).toMatch(/PORT: .*; INBOX_CAP: .*; LOG_LEVEL: /);
  });

  it('never echoes secrets in errors', () => {
    expect.assertions(4);
    const short = configError({ JWT_SECRET: 'hunter2-hunter2' });
    expect(short).not.toContain('hunter2');
    const url = configError({ REDIS_URL: 'http://admin:topsecret@redis:6379' });
    expect(url).not.toContain('topsecret');
  });

  it('refuses production without JWT_SECRET or JWT_JWKS_URL', () => {
    expect.assertions(2);
    expect(configError({ NODE_ENV: 'production' })).toBe(
      'Invalid configuration: JWT_SECRET or JWT_JWKS_URL is required when NODE_ENV=production: set JWT_SECRET to a random string of at least 32 characters (e.g. openssl rand -base64 48), or JWT_JWKS_URL to your identity provider\'s JWKS',
    );
  });

  const JWKS_URL = 'https://idp.example/certs';

  it('runs production on a JWKS alone, with issuer and audience', () => {
    const c = loadConfig({ NODE_ENV: 'production', JWT_JWKS_URL: JWKS_URL, JWT_ISSUER: 'https://idp.example', JWT_AUDIENCE: 'notifications' });
    expect(c.jwtSecret).toBeNull();
    expect(c.jwks).toEqual({ url: JWKS_URL, issuer: 'https://idp.example', audience: 'notifications', algorithms: ['RS256', 'ES256'], rolesClaim: 'roles', userClaim: 'sub' });
  });

  it('requires JWT_ISSUER and JWT_AUDIENCE with a JWKS in production', () => {
    expect.assertions(2);
    expect(configError({ NODE_ENV: 'production', JWT_JWKS_URL: JWKS_URL })).toBe(
      'Invalid configuration: JWT_ISSUER is required with JWT_JWKS_URL when NODE_ENV=production; JWT_AUDIENCE is required with JWT_JWKS_URL when NODE_ENV=production',
    );
  });

  it('refuses JWKS settings without JWT_JWKS_URL, and HS256 among the JWKS algorithms', () => {
    expect.assertions(4);
    expect(configError({ JWT_SECRET: SECRET, JWT_ISSUER: 'https://idp.example', JWT_ROLES_CLAIM: 'realm_access.roles' })).toBe(
      'Invalid configuration: JWT_ISSUER: applies to tokens verified with JWT_JWKS_URL, which is not set; JWT_ROLES_CLAIM: applies to tokens verified with JWT_JWKS_URL, which is not set',
    );
    expect(configError({ JWT_JWKS_URL: JWKS_URL, JWT_ALGORITHMS: 'RS256,HS256' })).toContain('JWT_ALGORITHMS: expected a comma-separated list of RS256|');
  });

  it('reads Apollo manifests, and names the file and the fault of a bad one', () => {
    expect.assertions(9);
    const dir = mkdtempSync(join(tmpdir(), 'manifests-'));
    const file = (name: string, body: unknown) => {
      const path = join(dir, name);
      writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
      return path;
    };
    const manifest = (operations: unknown[]) => ({ format: 'apollo-persisted-query-manifest', version: 1, operations });
    const a = file('a.json', manifest([{ id: 'abc', body: 'query A { __typename }', name: 'A', type: 'query' }]));
    const b = file('b.json', manifest([{ id: 'def', body: 'query B { __typename }', name: 'B', type: 'query' }]));
    expect(loadConfig({ PERSISTED_OPERATIONS_MANIFESTS: ` ${a} , ${b}` }).persistedOperationsManifests).toEqual([
      { path: a, operations: [{ id: 'abc', body: 'query A { __typename }' }] },
      { path: b, operations: [{ id: 'def', body: 'query B { __typename }' }] },
    ]);
    expect(configError({ PERSISTED_OPERATIONS_MANIFESTS: file('bad.json', '{') })).toBe(`Invalid configuration: PERSISTED_OPERATIONS_MANIFESTS: "${dir}/bad.json" is not JSON`);
    expect(configError({ PERSISTED_OPERATIONS_MANIFESTS: file('codegen.json', { 'sha256:abc': 'query A { __typename }' }) })).toContain('is not an Apollo persisted-query manifest');
    expect(configError({ PERSISTED_OPERATIONS_MANIFESTS: file('noid.json', manifest([{ body: 'query A { __typename }' }])) })).toContain('operations[0] needs a non-empty "id" and "body"');
    const clash = file('clash.json', manifest([{ id: 'abc', body: 'query Other { __typename }' }]));
    expect(configError({ PERSISTED_OPERATIONS_MANIFESTS: `${a},${clash}` })).toContain(`id "abc" in "${clash}" names a different document than in an earlier file`);
  });

  it('allows a missing JWT_SECRET outside production', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).jwtSecret).toBeNull();
    expect(loadConfig({ NODE_ENV: 'test' }).jwtSecret).toBeNull();
  });
});
