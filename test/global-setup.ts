/**
 * vitest globalSetup: runs one PRIVATE redis-server for the whole test run on a free port
 * (never 6379, never a developer's own Redis) with persistence off, and beside it a private
 * Redis Cluster of 3 masters and 3 replicas (test/helpers/redis-cluster.ts). Tests reach them
 * through test/helpers/redis.ts: `inject('redisUrl')` and `inject('redisClusterNodes')`.
 */
import { spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { assertRedisInstalled, startRedisServer } from './helpers/redis-server.js';
import { startRedisCluster } from './helpers/redis-cluster.js';

declare module 'vitest' {
  interface ProvidedContext {
    /** redis://127.0.0.1:<port> of the private test Redis. */
    redisUrl: string;
    /** "127.0.0.1:<port>,…" seeds of the private test Redis Cluster (REDIS_CLUSTER_NODES form). */
    redisClusterNodes: string;
    /** the cluster nodes' directory (their cluster config files): a killed node restarts from it */
    redisClusterDir: string;
  }
}

/** Starts the private Redis and the cluster together; the returned function is vitest's teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  assertRedisInstalled();
  const [single, cluster] = await Promise.allSettled([startRedisServer(), startRedisCluster()]);
  if (single.status === 'rejected' || cluster.status === 'rejected') {
    if (single.status === 'fulfilled') await single.value.stop();
    if (cluster.status === 'fulfilled') await cluster.value.stop();
    throw single.status === 'rejected' ? single.reason : (cluster as PromiseRejectedResult).reason;
  }
  const running = single.value;
  const nodes = cluster.value;
  project.provide('redisUrl', running.url);
  project.provide('redisClusterNodes', nodes.seeds);
  project.provide('redisClusterDir', nodes.dir);
  process.env.TEST_REDIS_URL = running.url;
  process.env.TEST_REDIS_CLUSTER_NODES = nodes.seeds;
  process.env.TEST_REDIS_CLUSTER_DIR = nodes.dir;

  // If vitest dies without running teardown, do not leave a redis-server behind.
  const children = [running.child, ...nodes.children];
  const killOnExit = () => {
    children.forEach((c) => c.kill('SIGKILL'));
    // a node a test killed and started again is not our child: it goes by its port
    for (const p of nodes.ports) spawnSync('redis-cli', ['-p', String(p), 'shutdown', 'nosave'], { timeout: 1000, stdio: 'ignore' });
  };
  process.once('exit', killOnExit);

  return async () => {
    process.off('exit', killOnExit);
    await Promise.all([running.stop(), nodes.stop()]);
  };
}
