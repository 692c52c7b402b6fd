/**
 * Composition root: config -> connections -> store -> app -> listen. The only module that
 * creates connections, timers and process handlers.
 */
import { Redis } from 'ioredis';
import { createApp, type App } from './app.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createAuth, randomSecret } from './server/auth.js';
import { memoryBackend, redisBackend } from './backend.js';
import { dashboardHooks } from './scheduler/dashboard-hooks.js';
import { createScheduler } from './scheduler/scheduler.js';
import { checkRedis, exitOnStartupFailure, listenError } from './startup-errors.js';

// Set once the configuration is read: start-up failures print their stack only at debug level.
let debug = false;

async function main() {
  const config = loadConfig();
  debug = config.logLevel === 'debug' || config.logLevel === 'trace';
  const logger = createLogger(config.logLevel);

  let started = false;
  const connect = (url: string, name: string) => {
    // A few retries per command while Redis is away; /readyz reports it meanwhile. Before the
    // start-up check passes, checkRedis reports the cause instead.
    const r = new Redis(url, { maxRetriesPerRequest: 3, connectionName: `notifications:${name}` });
    r.on('error', (err) => started && logger.warn({ err: err.message, connection: name }, 'redis connection error'));
    return r;
  };
  const redis = config.redisUrl ? connect(config.redisUrl, 'commands') : null;
  const subscriber = config.redisUrl ? connect(config.redisUrl, 'subscriber') : null;
  if (redis && subscriber) await checkRedis([redis, subscriber], config.redisUrl!);
  started = true;
  const backend =
    redis && subscriber ? redisBackend({ redis, subscriber, cap: config.inboxCap, prefix: config.redisKeyPrefix }) : memoryBackend({ cap: config.inboxCap });
  const { store } = backend;

  // Outside production, a missing secret means "try it out": a random one plus ready tokens.
  const devSecret = config.jwtSecret === null;
  const auth = createAuth(config.jwtSecret ?? randomSecret());
  let graphiqlToken: string | undefined;
  let devTokens: string | undefined;
  if (devSecret) {
    const admin = await auth.sign({ sub: 'admin', roles: ['admin'], expiresIn: '12h' });
    const user = await auth.sign({ sub: 'demo-user', roles: ['user'], expiresIn: '12h' });
    graphiqlToken = admin;
    devTokens = [
      'No JWT_SECRET set: using a random one for this run. Ready-made tokens (12 h):',
      `  admin:     Bearer ${admin}`,
      `  demo-user: Bearer ${user}`,
    ].join('\n');
  }

  // Bree and its job workers (docs/jobs.md). On Redis each job's worker opens its own
  // connection; on the memory backend it asks this thread, where the state lives.
  let app: App | undefined;
  const scheduler = createScheduler({
    store,
    backend: config.redisUrl
      ? { kind: 'redis', url: config.redisUrl, prefix: config.redisKeyPrefix, cap: config.inboxCap }
      : { kind: 'memory' },
    logger,
    workEndCron: config.workEndCron,
    timezone: config.schedulerTimezone,
    enabled: config.schedulerEnabled,
    dashboard: dashboardHooks(() => app, backend),
  });

  app = createApp({
    ...backend,
    jobs: scheduler,
    auth,
    logger,
    graphiqlToken,
    topicRoles: config.topicRoles,
    wsKeepAliveMs: config.wsKeepAliveMs,
    dashboardTtlMs: config.dashboardTtlMs,
    cacheEnabled: config.cacheEnabled,
    rateLimits: config.rateLimit,
    connectionLimits: { perUser: config.maxConnectionsPerUser, total: config.maxConnections },
    maxBodyBytes: config.maxBodyBytes,
  });
  const server = app.server;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, config.host, config.port));
    server.once('error', onError);
    server.listen(config.port, config.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  logger.info({ port: config.port, host: config.host, backend: store.kind }, `listening on http://localhost:${config.port}/graphql`);
  if (devTokens) console.log(devTokens);
  // A scheduler that can't start is logged; the server keeps serving.
  scheduler.start().catch((err: unknown) => logger.error({ err }, 'scheduler failed to start'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Jobs and connections wind down together, so the grace period is spent once; Redis
    // closes after both, since running jobs still report to it.
    await Promise.all([scheduler.stop(config.shutdownTimeoutMs), app!.close(config.shutdownTimeoutMs)]);
    for (const r of [redis, subscriber]) await r?.quit().catch(() => r.disconnect());
    logger.info('bye');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => exitOnStartupFailure(err, debug));
