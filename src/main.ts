/**
 * Composition root: config -> connections -> store -> app -> listen. The only module that
 * creates connections, timers and process handlers.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { createDeliveryWorker } from './channels/delivery-worker.js';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createAuth, randomSecret } from './server/auth.js';
import { createPersistedOperations } from './server/persisted-operations.js';
import { memoryBackend, redisBackend } from './backend.js';
import { createScheduler } from './scheduler/scheduler.js';
import { ExpirySweeper } from './notifications/expiry-sweeper.js';
import { EpochWatch } from './store/epoch-watch.js';
import { createMetrics } from './metrics/metrics.js';
import { instrumentRedis } from './store/redis/instrument.js';
import { connectRedis, redisTarget, type ConnectionRole } from './store/redis/connect.js';
import { checkLayout, checkRedis, exitOnStartupFailure, listenError } from './startup-errors.js';

// Set once the configuration is read: start-up failures print their stack only at debug level.
let debug = false;

async function main() {
  const config = loadConfig();
  debug = config.logLevel === 'debug' || config.logLevel === 'trace';
  const logger = createLogger(config.logLevel);
  // The process's one registry: the app, the scheduler and the Redis connections record into it.
  const metrics = createMetrics({ enabled: config.metricsEnabled, defaults: true });

  let started = false;
  // REDIS_URL or REDIS_CLUSTER_NODES: one code path above the connection (store/redis/connect.ts).
  const target = redisTarget(config);
  const connect = (role: ConnectionRole) => {
    const r = connectRedis(target!, { role, commandTimeoutMs: config.redisCommandTimeoutMs });
    r.on('error', (err: Error) => started && logger.warn({ err: err.message, connection: role }, 'redis connection error'));
    instrumentRedis(r, metrics);
    return r;
  };
  const redis = target ? connect('commands') : null;
  const subscriber = target ? connect('subscriber') : null;
  const shardSubscriber = target ? connect('shard-subscriber') : null;
  if (target && redis && subscriber && shardSubscriber) {
    await checkRedis([redis, subscriber, shardSubscriber], target);
    await checkLayout(redis, config.redisKeyPrefix, config.redisPartitions);
  }
  started = true;
  // The outbox's blocking stream reads get their own connection: a BLOCK stalls its connection.
  // On a Cluster the outbox polls.
  const blocking = target?.kind === 'single' && config.delivery.workerEnabled ? (connect('blocking') as Redis) : null;
  const backend =
    redis && subscriber && shardSubscriber
      ? redisBackend({
          redis,
          subscriber,
          shardSubscriber,
          blocking,
          cap: config.inboxCap,
          prefix: config.redisKeyPrefix,
          partitions: config.redisPartitions,
          waitReplicas: config.redisWaitReplicas,
        })
      : memoryBackend({ cap: config.inboxCap, maxUsers: config.memoryMaxUsers, maxNotifications: config.memoryMaxNotifications });
  const { store } = backend;

  // Outside production, no secret and no identity provider means "try it out": a random
  // secret plus ready tokens.
  const devSecret = config.jwtSecret === null && config.jwks === null;
  const auth = createAuth({ secret: devSecret ? randomSecret() : config.jwtSecret, jwks: config.jwks, logger });
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
      `Console (paste the admin token): http://localhost:${config.port}/console/`,
      `demo-user's inbox: http://localhost:${config.port}/inbox/#token=${user}`,
    ].join('\n');
  }

  // This instance, as its scheduler, dashboard feed and outbox consumer name it.
  const instanceId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  // Jobs (docs/jobs.md): frequent ones on this thread; on Redis the rare ones in Bree worker
  // threads, each on its own connection; on the memory backend all of them here.
  const scheduler = createScheduler({
    store,
    deliveries: backend.deliveries,
    bus: backend,
    instanceId,
    backend: target
      ? { kind: 'redis', target, prefix: config.redisKeyPrefix, cap: config.inboxCap, partitions: config.redisPartitions, waitReplicas: config.redisWaitReplicas }
      : { kind: 'memory' },
    logger,
    workEndCron: config.workEndCron,
    timezone: config.schedulerTimezone,
    enabled: config.schedulerEnabled,
    metrics,
  });

  // Counts follow time: expired notifications leave every live badge within about a second.
  const expirySweeper = new ExpirySweeper({ store, logger });
  const epochWatch = new EpochWatch({ store, logger, onLoss: () => metrics.redisDataLoss.inc() });

  const app = createApp({
    ...backend,
    instanceId,
    jobs: scheduler,
    expirySweeper,
    auth,
    logger,
    graphiqlToken,
    topicRoles: config.topicRoles,
    wsKeepAliveMs: config.wsKeepAliveMs,
    maxBufferedBytes: config.maxBufferedBytes,
    dashboardTtlMs: config.dashboardTtlMs,
    cacheEnabled: config.cacheEnabled,
    persisted: createPersistedOperations(config.persistedOperations, config.persistedOperationsManifests),
    webhookAllowPrivate: config.delivery.webhookAllowPrivate,
    metrics,
    metricsToken: config.metricsToken,
    rateLimits: config.rateLimit,
    connectionLimits: { perUser: config.maxConnectionsPerUser, total: config.maxConnections },
    maxBodyBytes: config.maxBodyBytes,
  });
  if (config.nodeEnv === 'production' && config.persistedOperations !== 'only') {
    logger.warn({ persistedOperations: config.persistedOperations }, 'clients may send any document; PERSISTED_OPERATIONS=only is recommended in production (docs/clients.md)');
  }
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

  expirySweeper.start();
  // Notices a Redis that lost its data while we run (docs/guarantees.md, "Redis outages").
  epochWatch.start();
  // Deliveries beyond the app (docs/channels.md): every instance takes its share of the outbox.
  const deliveryWorker = config.delivery.workerEnabled
    ? createDeliveryWorker({
        store,
        deliveries: backend.deliveries,
        redis,
        prefix: config.redisKeyPrefix,
        config: config.delivery,
        consumer: instanceId,
        logger,
        onOutcome: (d) => metrics.deliveries.inc({ channel: d.channel, status: d.status }),
      })
    : null;
  deliveryWorker?.start();
  // A scheduler that can't start is logged; the server keeps serving.
  scheduler.start().catch((err: unknown) => logger.error({ err }, 'scheduler failed to start'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    epochWatch.stop();
    // Jobs, deliveries and connections wind down together, so the grace period is spent once;
    // Redis closes after them, since running jobs still report to it.
    await Promise.all([scheduler.stop(config.shutdownTimeoutMs), app.close(config.shutdownTimeoutMs), deliveryWorker?.stop(config.shutdownTimeoutMs)]);
    // The blocking connection may sit in a BLOCK read: no QUIT to wait behind it.
    blocking?.disconnect();
    for (const r of [redis, subscriber, shardSubscriber]) await r?.quit().catch(() => r.disconnect());
    logger.info('bye');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => exitOnStartupFailure(err, debug));
