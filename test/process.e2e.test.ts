/**
 * The server as users run it: `npm run build`, then `npm start`'s command (the compiled
 * dist/, jobs included); its configuration errors, its probes against a Redis that goes away
 * and comes back, a job in a worker thread, SIGTERM.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAuth } from '../src/server/auth.js';
import { freePort, startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { startArgs } from './helpers/start-command.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'process-test-secret-process-test-secret-0';
const children: ChildProcess[] = [];
const redises: RedisServer[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all(redises.splice(0).map((r) => r.stop()));
});

/** A redis-server of this test's own, so it can be stopped and started again on the same port. */
async function ownRedis(port: number) {
  const r = await startRedisServer(port);
  redises.push(r);
  return r;
}

function start(cmd: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

const server = (env: Record<string, string>) => start(process.execPath, startArgs(), env);

beforeAll(() => {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'pipe' });
}, 120_000);

async function fetchStatus(url: string): Promise<number | 'down'> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 'down';
  }
}

async function until(cond: () => Promise<boolean>, timeoutMs = 20_000) {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the server process', () => {
  it('refuses to start on a bad value, naming the variable', async () => {
    const s = server({ PORT: 'abc', REDIS_URL: '', JWT_SECRET: '' });
    expect(await s.exited).toBe(1);
    expect(s.output()).toMatch(/PORT: expected an integer 1\.\.65535, got "abc"/);
  });

  it('refuses REDIS_URL and REDIS_CLUSTER_NODES together', async () => {
    const s = server({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_CLUSTER_NODES: '127.0.0.1:2', JWT_SECRET: '' });
    expect(await s.exited).toBe(1);
    expect(s.output()).toMatch(/REDIS_URL and REDIS_CLUSTER_NODES are both set/);
  });

  it('refuses to start on a Redis whose keys are laid out differently, and starts on a fresh one', async () => {
    const r = await ownRedis(await freePort());
    const { Redis } = await import('ioredis');
    const c = new Redis(r.url);
    try {
      await c.set('old:{g}:layout', '1:16');
      const s = server({ REDIS_URL: r.url, REDIS_KEY_PREFIX: 'old:', JWT_SECRET: SECRET, PORT: String(await freePort()) });
      expect(await s.exited).toBe(1);
      expect(s.output()).toMatch(/Redis holds key layout version 1 with 16 partitions under prefix "old:"; this server uses version \d+ with 16 partitions .*Start it on a fresh Redis/);
      // A fresh prefix gets stamped, and the server serves.
      const port = await freePort();
      const fresh = server({ REDIS_URL: r.url, REDIS_KEY_PREFIX: 'new:', JWT_SECRET: SECRET, PORT: String(port) });
      await until(async () => (await fetchStatus(`http://127.0.0.1:${port}/readyz`)) === 200);
      expect(await c.get('new:{g}:layout')).toMatch(/^\d+:16$/);
      fresh.child.kill('SIGTERM');
      expect(await fresh.exited).toBe(0);
    } finally {
      c.disconnect();
    }
  });

  it('refuses to start in production without JWT_SECRET', async () => {
    const s = server({ NODE_ENV: 'production', JWT_SECRET: '', REDIS_URL: '' });
    expect(await s.exited).toBe(1);
    expect(s.output()).toMatch(/JWT_SECRET or JWT_JWKS_URL is required when NODE_ENV=production/);
  });

  it('serves on Redis in production, reports readiness as Redis goes and comes back, and exits cleanly on SIGTERM', { timeout: 60_000 }, async () => {
    const [port, redisPort] = [await freePort(), await freePort()];
    let redis = await ownRedis(redisPort);
    const s = server({
      NODE_ENV: 'production',
      JWT_SECRET: SECRET,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '2000',
    });
    const base = `http://127.0.0.1:${port}`;
    await until(async () => (await fetchStatus(`${base}/readyz`)) === 200);
    expect(await fetchStatus(`${base}/healthz`)).toBe(200);

    const token = await createAuth(SECRET).sign({ sub: 'proc-user' });
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { id active unreadCount } }' }),
    });
    expect(await res.json()).toEqual({ data: { me: { id: 'proc-user', active: true, unreadCount: 0 } } });

    // A job runs from the compiled jobs/ in its worker thread.
    const admin = await createAuth(SECRET).sign({ sub: 'proc-admin', roles: ['admin'] });
    const job = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query: 'mutation { runJob(name: "prune-expired") { name lastStatus } }' }),
    });
    expect(await job.json()).toEqual({ data: { runJob: { name: 'prune-expired', lastStatus: 'ok' } } });

    await redis.stop();
    await until(async () => (await fetchStatus(`${base}/readyz`)) === 503);
    expect(await fetchStatus(`${base}/healthz`)).toBe(200);
    redis = await ownRedis(redisPort);
    await until(async () => (await fetchStatus(`${base}/readyz`)) === 200);

    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(await fetchStatus(`${base}/healthz`)).toBe('down');
  });
});
