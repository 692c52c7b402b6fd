/**
 * The server under test as its own process, run as `npm start` runs it (the compiled dist/,
 * which `npm run bench` builds first), so the bench process that generates the load doesn't
 * share its CPU or heap.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createAuth } from '../src/server/auth.js';
import { freePort } from '../test/helpers/redis-server.js';
import { startArgs } from '../test/helpers/start-command.js';
import type { BenchRedis } from './redis-server.js';

export interface ServerProcess {
  http: string;
  ws: string;
  pid: number;
  /** resident set size of the server process, from /proc */
  rssBytes(): number;
  /** CPU time the server process has used so far, ms (user + system, from /proc) */
  cpuMs(): number;
  /** open file descriptors of the server process (/proc/PID/fd) */
  openFds(): number;
  token(sub: string, roles?: ('user' | 'service' | 'admin')[]): Promise<string>;
  /** A full garbage collection in the server (over the inspector: start with `inspect`). */
  collectGarbage(): Promise<void>;
  /** Starts V8's CPU profiler in the server (start with `inspect`); the function stops it and returns the .cpuprofile object. */
  cpuProfile(): Promise<() => Promise<unknown>>;
  stop(): Promise<void>;
}

// BENCH_SERVER_ROOT: run the dist/ of another checkout (a build of an earlier commit, to compare).
const ROOT = process.env.BENCH_SERVER_ROOT ?? fileURLToPath(new URL('..', import.meta.url));
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const SECRET = 'bench-secret-bench-secret-bench-secret-0';

export interface StartOptions {
  /** Opens the server's inspector on loopback, for collectGarbage(). */
  inspect?: boolean;
  /** more node arguments for the server process (e.g. `--import` of a probe) */
  nodeArgs?: string[];
  /** the checkout whose dist/ runs (a build of an earlier commit, to compare). @default BENCH_SERVER_ROOT, else this one */
  root?: string;
}

/** Starts the server on the bench's Redis (REDIS_URL, or REDIS_CLUSTER_NODES with `--cluster`), keys under `prefix`. */
export async function startServer(redis: Pick<BenchRedis, 'serverEnv'>, prefix: string, env: Record<string, string> = {}, opts: StartOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  if (opts.inspect) nodeArgs.push('--inspect=127.0.0.1:0');
  nodeArgs.push(...(opts.nodeArgs ?? []));
  const child = spawn(process.execPath, [...nodeArgs, ...startArgs()], {
    cwd: opts.root ?? ROOT,
    env: {
      ...process.env,
      // exactly one of them, from the bench's Redis (the server refuses both)
      REDIS_URL: undefined,
      REDIS_CLUSTER_NODES: undefined,
      PORT: String(port),
      HOST: '127.0.0.1',
      ...redis.serverEnv,
      REDIS_KEY_PREFIX: `${prefix}ntf:`,
      JWT_SECRET: SECRET,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      SCHEDULER_ENABLED: 'false',
      ...env,
    },
    stdio: ['ignore', 'inherit', opts.inspect ? 'pipe' : 'inherit'],
  });
  // The inspector prints its address on stderr; everything else there is passed on.
  let inspectorUrl: string | null = null;
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) {
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(line);
      if (m) inspectorUrl = m[1]!;
      else if (line && !/^(For help, see|Debugger (ending on|attached))/.test(line)) process.stderr.write(`${line}\n`);
    }
  });
  const http = `http://127.0.0.1:${port}/graphql`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error('server not ready in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const auth = createAuth(SECRET);
  return {
    http,
    ws: `ws://127.0.0.1:${port}/graphql`,
    pid: child.pid!,
    ...procStats(child.pid!),
    token: (sub, roles = ['user']) => auth.sign({ sub, roles, expiresIn: '2h' }),
    async collectGarbage() {
      const session = await inspectorSession(inspectorUrl);
      await session.call('HeapProfiler.collectGarbage').finally(() => session.close());
    },
    async cpuProfile() {
      const session = await inspectorSession(inspectorUrl);
      await session.call('Profiler.enable');
      await session.call('Profiler.setSamplingInterval', { interval: 200 });
      await session.call('Profiler.start');
      return async () => {
        const { profile } = (await session.call('Profiler.stop')) as { profile: unknown };
        session.close();
        return profile;
      };
    },
    stop: () => stopChild(child, 5000),
  };
}

/**
 * A DevTools protocol session on the server's inspector. `onEvent` gets the protocol's events
 * (a heap snapshot arrives as HeapProfiler.addHeapSnapshotChunk events).
 */
export async function inspectorSession(
  url: string | null,
  onEvent?: (method: string, params: any) => void,
): Promise<{ call(method: string, params?: object): Promise<any>; close(): void }> {
  if (!url) throw new Error('start the server with { inspect: true }');
  const ws = new WebSocket(url, { maxPayload: 2 ** 31 - 1 });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  ws.on('message', (data: Buffer) => {
    const msg = JSON.parse(String(data)) as { id?: number; method?: string; params?: unknown; result?: unknown; error?: { message: string } };
    if (msg.method) onEvent?.(msg.method, msg.params);
    const w = msg.id === undefined ? undefined : waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id!);
    if (msg.error) w.reject(new Error(msg.error.message));
    else w.resolve(msg.result);
  });
  let id = 0;
  return {
    call: (method, params = {}) =>
      new Promise((resolve, reject) => {
        waiting.set(++id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** RSS, CPU time and open descriptors of a process, read from /proc. */
/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

export function procStats(pid: number): Pick<ServerProcess, 'rssBytes' | 'cpuMs' | 'openFds'> {
  return {
    rssBytes() {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      return Number(kb) * 1024;
    },
    openFds() {
      return readdirSync(`/proc/${pid}/fd`).length;
    },
    cpuMs() {
      // utime + stime (all threads): fields 14 and 15 of /proc/PID/stat
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
    },
  };
}

// node:http with keep-alive: global fetch costs the load generator several times more CPU per
// request, enough to make the client the bottleneck on a 2-core machine.
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

/** Closes the idle keep-alive connections `gql` holds (the server keeps them open 65 s). */
export function closeHttpConnections(): void {
  agent.destroy();
}

/** POSTs a GraphQL operation; throws on GraphQL errors. */
export function gql<T = any>(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: T; errors?: unknown[] };
            if (parsed.errors) reject(new Error(JSON.stringify(parsed.errors)));
            else resolve(parsed.data as T);
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
