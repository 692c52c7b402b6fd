/**
 * The server as users run it: `npm run build`, then `npm start`'s command (the compiled
 * dist/, jobs included); its configuration errors, its probes against a Redis that goes away
 * and comes back, a job in a worker thread, SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAuth } from '../src/server/auth.js';
import { freePort, startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { startArgs } from './helpers/start-command.js';
import { useServerChildren } from './helpers/server-child.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'process-test-secret-process-test-secret-0';
const redises: RedisServer[] = [];

afterEach(async () => {
  await Promise.all(redises.splice(0).map((r) => r.stop()));
});

/** A redis-server of this test's own, so it can be stopped and started again on the same port. */
async function ownRedis(port: number) {
  const r = await startRedisServer(port);
  redises.push(r);
  return r;
}

const spawnServer = useServerChildren();
const server = (env: Record<string, string>) => spawnServer({ ...process.env, ...env }, startArgs());

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
