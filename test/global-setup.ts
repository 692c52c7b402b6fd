/**
 * vitest globalSetup: runs one PRIVATE redis-server for the whole test run on a free port
 * (never 6379, never a developer's own Redis) with persistence off, and a private Redis Cluster
 * (3 masters, 3 replicas: test/helpers/redis-cluster.ts), and hands their addresses to tests via
 * `inject('redisUrl')` and `inject('redisClusterNodes')` (see test/helpers/redis.ts).
 */
import type { TestProject } from 'vitest/node';
import { assertRedisInstalled, startRedisServer } from './helpers/redis-server.js';
import { startRedisCluster } from './helpers/redis-cluster.js';

declare module 'vitest' {
  interface ProvidedContext {
    /** redis://127.0.0.1:<port> of the private test Redis. */
    redisUrl: string;
    /** "127.0.0.1:<port>,..." seeds of the private test Redis Cluster. */
    redisClusterNodes: string;
  }
}

/** Starts the private Redis and the cluster; the returned function is vitest's teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  assertRedisInstalled();
  const [running, cluster] = await Promise.all([startRedisServer(), startRedisCluster()]);
  const url = running.url;
  project.provide('redisUrl', url);
  project.provide('redisClusterNodes', cluster.seeds);
  process.env.TEST_REDIS_URL = url;
  process.env.TEST_REDIS_CLUSTER_NODES = cluster.seeds;

  // If vitest dies without running teardown, do not leave a redis-server behind.
  const children = [running.child, ...cluster.nodes.map((n) => n.child)];
  const killOnExit = () => children.forEach((c) => c.kill('SIGKILL'));
  process.once('exit', killOnExit);

  return async () => {
    process.off('exit', killOnExit);
    await Promise.all([running.stop(), cluster.stop()]);
  };
}
