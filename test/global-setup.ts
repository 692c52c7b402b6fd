/**
 * vitest globalSetup: runs one PRIVATE redis-server for the whole test run on a
 * free port (never 6379, never a developer's own Redis) with persistence off,
 * and hands its URL to tests via `inject('redisUrl')` (see test/helpers/redis.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  interface ProvidedContext {
    /** redis://127.0.0.1:<port> of the private test Redis. */
    redisUrl: string;
  }
}

const REDIS_BIN = 'redis-server';
const START_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;

/** Asks the OS for a free port; tiny race until redis binds it, covered by retrying. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** One raw PING; avoids ioredis' reconnect machinery while the server is still starting. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    sock.once('connect', () => sock.write('PING\r\n'));
  });
}

function assertRedisInstalled(): void {
  const probe = spawnSync(REDIS_BIN, ['--version'], { encoding: 'utf8' });
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('redis-server not found on PATH: install it (apt-get install redis-server) to run the tests');
  }
  if (probe.error) throw probe.error;
}

interface Running {
  child: ChildProcess;
  port: number;
  dir: string;
}

async function startOnce(): Promise<Running> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vitest-redis-'));
  const child = spawn(
    REDIS_BIN,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Keep the tail of its output for error messages; reading also keeps the pipe from filling up.
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
  });
  child.once('error', (err) => {
    exited = `failed to start: ${err.message}`;
  });

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) break;
    if (await ping(port)) return { child, port, dir };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`redis-server on port ${port} ${exited ?? `did not answer PING within ${START_TIMEOUT_MS} ms`}:\n${output}`);
}

async function stop({ child, dir }: Running): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Starts the private Redis; the returned function is vitest's teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  assertRedisInstalled();
  let running: Running | undefined;
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS && !running; attempt++) {
    try {
      running = await startOnce();
    } catch (err) {
      lastError = err; // most likely another process took the port between probe and bind
    }
  }
  if (!running) throw lastError;

  const url = `redis://127.0.0.1:${running.port}`;
  project.provide('redisUrl', url);
  process.env.TEST_REDIS_URL = url;

  // If vitest dies without running teardown, do not leave a redis-server behind.
  const child = running.child;
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const r = running;
  return async () => {
    process.off('exit', killOnExit);
    await stop(r);
  };
}
