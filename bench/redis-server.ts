/**
 * The Redis a benchmark runs against.
 *
 * By default a PRIVATE redis-server on a free loopback port (never 6379), persistence off, in a
 * temporary directory, killed when the bench ends (same idea as test/global-setup.ts, which is
 * vitest-specific and so not imported here). With BENCH_REDIS_URL set, that server is used
 * instead: then nothing is flushed, every key the bench writes lives under a run-unique prefix,
 * and those keys are deleted at the end (SCAN MATCH + UNLINK).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';

const REDIS_BIN = 'redis-server';
const START_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;

export interface BenchRedis {
  url: string;
  /** true: our own redis-server, nobody else's keys, killed by stop(). */
  isPrivate: boolean;
  /** Run-unique key prefix ("b1a2b3c4:"); scenarios put every key they write under it. */
  prefix: string;
  /** A new client; stop() closes every client made here. */
  connect(options?: RedisOptions): Promise<Redis>;
  /** Closes the clients, deletes the run's keys on a shared server, kills a private server. */
  stop(): Promise<void>;
}

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

/** One raw PING, so ioredis' reconnect logic stays out of the start-up wait. */
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

interface Running {
  child: ChildProcess;
  port: number;
  dir: string;
}

async function startOnce(): Promise<Running> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  const child = spawn(
    REDIS_BIN,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
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

async function stopServer({ child, dir }: Running): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}

async function startPrivateServer(): Promise<Running> {
  const probe = spawnSync(REDIS_BIN, ['--version'], { encoding: 'utf8' });
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('redis-server not found on PATH: install it (apt-get install redis-server) or set BENCH_REDIS_URL');
  }
  if (probe.error) throw probe.error;
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce();
    } catch (err) {
      lastError = err; // most likely another process took the port between probe and bind
    }
  }
  throw lastError;
}

/** Escapes Redis glob metacharacters so a prefix matches literally in SCAN MATCH. */
function escapeGlob(s: string): string {
  return s.replace(/[\\*?[\]^]/g, (c) => `\\${c}`);
}

/** Deletes every key starting with `prefix` (SCAN + UNLINK; never KEYS, never FLUSHALL). */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('deleteByPrefix: refusing an empty prefix');
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

/** `used_memory` from INFO memory, in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = String(await redis.info('memory'));
  const m = /^used_memory:(\d+)\s*$/m.exec(info);
  if (!m) throw new Error('INFO memory has no used_memory line');
  return Number(m[1]);
}

/** A private redis-server, or BENCH_REDIS_URL when set. Call stop() when done (index.ts does). */
export async function openBenchRedis(): Promise<BenchRedis> {
  const external = process.env.BENCH_REDIS_URL?.trim() || null;
  const running = external ? null : await startPrivateServer();
  const url = external ?? `redis://127.0.0.1:${running!.port}`;

  // Never leave a redis-server behind, even on Ctrl-C or an uncaught error.
  const kill = () => running?.child.kill('SIGKILL');
  const onSignal = (signal: NodeJS.Signals) => {
    kill();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  if (running) {
    process.once('exit', kill);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  const prefix = `b${randomBytes(4).toString('hex')}:`;
  const clients: Redis[] = [];
  let stopped = false;

  return {
    url,
    isPrivate: running !== null,
    prefix,
    async connect(options = {}) {
      const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 5_000, lazyConnect: true, ...options });
      clients.push(redis);
      await redis.connect();
      return redis;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!running && clients[0]?.status === 'ready') {
        await deleteByPrefix(clients[0], prefix).catch((err) => console.error(`could not delete ${prefix}* keys: ${String(err)}`));
      }
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      if (running) {
        await stopServer(running);
        process.off('exit', kill);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    },
  };
}
