/**
 * Starts a private redis-server on a free loopback port (never 6379), persistence off, in a
 * temporary directory (or, with `dir`, in a directory the caller keeps, with `args` such as
 * AOF settings: a test restarting Redis with its data). Used by the test run (test/global-setup.ts), tests that need a Redis
 * they can stop (test/process.e2e.test.ts) and the benchmarks (bench/redis-server.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REDIS_BIN = 'redis-server';
const START_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;

export interface RedisServer {
  port: number;
  url: string;
  child: ChildProcess;
  /** SIGTERM (SIGKILL after 5 s), then removes its directory (not one the caller gave). */
  stop(): Promise<void>;
  /** SIGKILL: a crash, nothing flushed on the way out; the directory stays as with stop(). */
  kill(): Promise<void>;
}

export interface RedisServerOptions {
  /** a directory the caller owns and removes; it survives stop(), so a restart finds the data */
  dir?: string;
  /** more redis-server arguments, after the defaults (e.g. ['--appendonly', 'yes', '--appendfsync', 'always']) */
  args?: string[];
}

/** Asks the OS for a free port; tiny race until a server binds it, covered by retrying. */
export function freePort(): Promise<number> {
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
export function ping(port: number): Promise<boolean> {
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

/** Throws a clear error when redis-server is not on the PATH. */
export function assertRedisInstalled(hint = 'install it (apt-get install redis-server) to run the tests'): void {
  const probe = spawnSync(REDIS_BIN, ['--version'], { encoding: 'utf8' });
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error(`redis-server not found on PATH: ${hint}`);
  if (probe.error) throw probe.error;
}

async function startOnce(port: number, opts: RedisServerOptions): Promise<RedisServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'private-redis-'));
  const removeDir = () => {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  };
  const child = spawn(
    REDIS_BIN,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes', ...(opts.args ?? [])],
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
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    }
    removeDir();
  };
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await gone;
    }
    removeDir();
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) break;
    if (await ping(port)) return { port, url: `redis://127.0.0.1:${port}`, child, stop, kill };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  removeDir();
  throw new Error(`redis-server on port ${port} ${exited ?? `did not answer PING within ${START_TIMEOUT_MS} ms`}:\n${output}`);
}

/**
 * Starts one; on a free port unless `port` is given (a test restarting "the same" Redis).
 * A free port can be taken between the probe and the bind, so that case is retried.
 */
export async function startRedisServer(port?: number, opts: RedisServerOptions = {}): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= (port ? 1 : START_ATTEMPTS); attempt++) {
    try {
      return await startOnce(port ?? (await freePort()), opts);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}
