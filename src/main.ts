/**
 * Composition root: config -> connections -> store -> app -> listen. The only module that
 * creates connections, timers and process handlers.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { createDeliveryWorker } from './channels/delivery-worker.js';
import { createApp, type App } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createAuth, randomSecret } from './server/auth.js';
import { createPersistedOperations } from './server/persisted-operations.js';
import { memoryBackend, redisBackend } from './backend.js';
import { dashboardHooks } from './scheduler/dashboard-hooks.js';
import { createScheduler } from './scheduler/scheduler.js';
import { ExpirySweeper } from './notifications/expiry-sweeper.js';
import { EpochWatch } from './store/epoch-watch.js';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);

  const connect = (url: string, name: string) => {
    // While Redis is away a request answers SERVICE_UNAVAILABLE within the command timeout
    // (queued commands included) instead of hanging; /readyz reports it meanwhile. Not on the
    // subscriber and the outbox's blocking reads, which wait by design.
    const timeout = name === 'commands' ? { commandTimeout: config.redisCommandTimeoutMs } : {};
    const r = new Redis(url, { maxRetriesPerRequest: 3, connectionName: `notifications:${name}`, ...timeout });
    // Once connected, commands fail at once while Redis is away: a queued command outlives its
    // timeout and would still run when Redis returns, so a send answered SERVICE_UNAVAILABLE
    // (and retried by its client) would be stored twice.
    if (name === 'commands') r.once('ready', () => (r.options.enableOfflineQueue = false));
    r.on('error', (err) => logger.warn({ err: err.message, connection: name }, 'redis connection error'));
    return r;
  };
  const redis = config.redisUrl ? connect(config.redisUrl, 'commands') : null;
  const subscriber = config.redisUrl ? connect(config.redisUrl, 'subscriber') : null;
  // The outbox's blocking stream reads get their own connection: a BLOCK stalls its connection.
  const blocking = config.redisUrl && config.delivery.workerEnabled ? connect(config.redisUrl, 'outbox') : null;
  const backend =
    redis && subscriber
      ? redisBackend({ redis, subscriber, blocking, cap: config.inboxCap, prefix: config.redisKeyPrefix })
      : memoryBackend({ cap: config.inboxCap });
  const { store } = backend;

  // Outside production, no secret and no identity provider means "try it out": a random
  // secret plus ready tokens.
  const devSecret = config.jwtSecret === null && config.jwks === null;
  const auth = createAuth({ secret: devSecret ? randomSecret() : config.jwtSecret, jwks: config.jwks, logger });
  let graphiqlToken: string | undefined;
  if (devSecret) {
    const admin = await auth.sign({ sub: 'admin', roles: ['admin'], expiresIn: '12h' });
    const user = await auth.sign({ sub: 'demo-user', roles: ['user'], expiresIn: '12h' });
    graphiqlToken = admin;
    console.log(
      [
        'No JWT_SECRET set: using a random one for this run. Ready-made tokens (12 h):',
        `  admin:     Bearer ${admin}`,
        `  demo-user: Bearer ${user}`,
      ].join('\n'),
    );
  }

  // Bree and its job workers (docs/jobs.md). On Redis each job's worker opens its own
  // connection; on the memory backend it asks this thread, where the state lives.
  let app: App | undefined;
  const scheduler = createScheduler({
    store,
    deliveries: backend.deliveries,
    backend: config.redisUrl
      ? { kind: 'redis', url: config.redisUrl, prefix: config.redisKeyPrefix, cap: config.inboxCap }
      : { kind: 'memory' },
    logger,
    workEndCron: config.workEndCron,
    timezone: config.schedulerTimezone,
    enabled: config.schedulerEnabled,
    dashboard: dashboardHooks(() => app, backend),
  });

  // Counts follow time: expired notifications leave every live badge within about a second.
  const expirySweeper = new ExpirySweeper({ store, logger });
  expirySweeper.start();
  // Notices a Redis that lost its data while we run (docs/guarantees.md, "Redis outages").
  const epochWatch = new EpochWatch({ store, logger });
  epochWatch.start();

  app = createApp({
    ...backend,
    jobs: scheduler,
    expirySweeper,
    auth,
    logger,
    graphiqlToken,
    topicRoles: config.topicRoles,
    wsKeepAliveMs: config.wsKeepAliveMs,
    dashboardTtlMs: config.dashboardTtlMs,
    cacheEnabled: config.cacheEnabled,
    persisted: createPersistedOperations(config.persistedOperations, config.persistedOperationsManifests),
    webhookAllowPrivate: config.delivery.webhookAllowPrivate,
  });
  if (config.nodeEnv === 'production' && config.persistedOperations !== 'only') {
    logger.warn({ persistedOperations: config.persistedOperations }, 'clients may send any document; PERSISTED_OPERATIONS=only is recommended in production (docs/clients.md)');
  }
  // Deliveries beyond the app (docs/channels.md): every instance takes its share of the outbox.
  const deliveryWorker = config.delivery.workerEnabled
    ? createDeliveryWorker({
        store,
        deliveries: backend.deliveries,
        redis,
        prefix: config.redisKeyPrefix,
        config: config.delivery,
        consumer: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
        logger,
      })
    : null;
  deliveryWorker?.start();
  app.server.listen(config.port, config.host, () => {
    logger.info({ port: config.port, host: config.host, backend: store.kind }, `listening on http://localhost:${config.port}/graphql`);
  });
  // A scheduler that can't start is logged; the server keeps serving.
  scheduler.start().catch((err: unknown) => logger.error({ err }, 'scheduler failed to start'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    epochWatch.stop();
    // Jobs and connections wind down together, so the grace period is spent once; Redis
    // closes after both, since running jobs still report to it.
    await Promise.all([scheduler.stop(config.shutdownTimeoutMs), app!.close(config.shutdownTimeoutMs), deliveryWorker?.stop(config.shutdownTimeoutMs)]);
    // The blocking connection may sit in a BLOCK read: no QUIT to wait behind it.
    blocking?.disconnect();
    for (const r of [redis, subscriber]) await r?.quit().catch(() => r.disconnect());
    logger.info('bye');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

void main();
