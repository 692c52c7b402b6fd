/**
 * A private Redis Cluster for the test run: 3 masters and 3 replicas on loopback ports whose
 * cluster bus ports (port + 10 000) are free too, persistence off, a small cluster-node-timeout
 * so a failover takes about a second. test/global-setup.ts starts it beside the single private
 * Redis; tests reach it through test/helpers/redis.ts and take a master down with
 * {@link killNode} / {@link restartNode} (a failover test).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ping } from './redis-server.js';

/** How long a silent master goes unnoticed before its replica takes over (ms). */
export const NODE_TIMEOUT_MS = 1000;
const NODES = 6;
const START_TIMEOUT_MS = 15_000;

/**
 * A cluster's nodes, for a failover test: which are masters, SIGKILL one, start it again (it
 * rejoins, as a replica once its replica took over), wait until the cluster is whole again.
 */
export interface ClusterControl {
  ports: number[];
  /** the masters serving slots now */
  masters(): Promise<ClusterNodeInfo[]>;
  /** every node, as the first one that answers sees them */
  nodes(): Promise<ClusterNodeInfo[]>;
  /** SIGKILL of the node on `port`; resolves once it no longer answers */
  kill(port: number): Promise<void>;
  /** starts the node on `port` again with its cluster config */
  restart(port: number): Promise<void>;
  /** every node answers, sees all slots served, and every master has a synced replica */
  untilHealthy(timeoutMs?: number): Promise<void>;
}

export interface RedisCluster extends ClusterControl {
  /** "127.0.0.1:port,..." (the REDIS_CLUSTER_NODES form) */
  seeds: string;
  /** the nodes' directory: each node keeps its cluster config there, so a restarted node rejoins */
  dir: string;
  children: ChildProcess[];
  /** shuts every node down, a restarted one too (by port), then removes the directory */
  stop(): Promise<void>;
}

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/**
 * A port free together with its bus port. Drawn from 12000..21999 so the bus port (22000..31999)
 * stays below Linux's ephemeral range (32768+), where outgoing connections would take it.
 */
async function freePortPair(taken: Set<number>): Promise<number> {
  for (;;) {
    const p = 12000 + Math.floor(Math.random() * 10000);
    if (taken.has(p)) continue;
    taken.add(p);
    if ((await canBind(p)) && (await canBind(p + 10000))) return p;
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = START_TIMEOUT_MS) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`redis cluster: ${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs one command on one node, on a connection of its own that gives up at once. */
export async function nodeCommand(port: number, ...args: string[]): Promise<unknown> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  r.on('error', () => {});
  try {
    await r.connect();
    return await r.call(args[0]!, ...args.slice(1));
  } finally {
    r.disconnect();
  }
}

const info = async (port: number, section: string) => String(await nodeCommand(port, 'INFO', section).catch(() => ''));

/** cluster_state:ok and all 16384 slots served, as node `port` sees it. */
export async function clusterOk(port: number): Promise<boolean> {
  const text = String(await nodeCommand(port, 'CLUSTER', 'INFO').catch(() => ''));
  return /cluster_state:ok/.test(text) && /cluster_slots_ok:16384/.test(text);
}

/** The node's role and, for a replica, whether its link to the master is up. */
async function replicationOk(port: number): Promise<boolean> {
  const text = await info(port, 'replication');
  return /role:master/.test(text) ? /connected_slaves:1/.test(text) : /master_link_status:up/.test(text);
}

/** Starts redis-server as a cluster node on `port`; resolves once it answers PING. */
export async function startNode(port: number, dir: string, { detached = false } = {}): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes',
      '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
      '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', `dump-${port}.rdb`,
      // a replica syncs at once (the default waits 5 s for more replicas to share the transfer)
      '--repl-diskless-sync-delay', '0',
    ],
    // detached: a node restarted by a test outlives the test's process (teardown stops it by port)
    { stdio: detached ? 'ignore' : ['ignore', 'pipe', 'pipe'], detached },
  );
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-2000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  const end = Date.now() + START_TIMEOUT_MS;
  while (!exited && Date.now() < end) {
    if (await ping(port)) return child;
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`redis cluster node on port ${port} did not start:\n${output}`);
}

/** A node on a free port pair; a port taken between the probe and the bind is retried. */
async function startFreeNode(taken: Set<number>, dir: string): Promise<{ port: number; child: ChildProcess }> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePortPair(taken);
    try {
      return { port, child: await startNode(port, dir) };
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', (err) => resolve({ code: -1, output: err.message }));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'private-redis-cluster-'));
  const taken = new Set<number>();
  const started = await Promise.allSettled(Array.from({ length: NODES }, () => startFreeNode(taken, dir)));
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const ports = nodes.map((n) => n.port);
  const children = nodes.map((n) => n.child);
  const stop = async () => {
    // By port first: a node a test killed and started again is not one of our children.
    await Promise.all(ports.map((p) => nodeCommand(p, 'SHUTDOWN', 'NOSAVE').catch(() => {})));
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const gone = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGKILL');
        await gone;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const created = await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
    if (created.code !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.output}`);
    await until('cluster_state:ok with every slot on every node', async () => (await Promise.all(ports.map(clusterOk))).every(Boolean));
    // A replica must have synced before a failover can promote it.
    await until('replicas in sync', async () => (await Promise.all(ports.map(replicationOk))).every(Boolean));
  } catch (err) {
    await stop();
    throw err;
  }
  return { ...clusterControl(ports, dir), seeds: ports.map((p) => `127.0.0.1:${p}`).join(','), dir, children, stop };
}

export interface ClusterNodeInfo {
  port: number;
  id: string;
  role: 'master' | 'replica';
  /** the master's node id, for a replica */
  masterId: string | null;
  /** slot ranges, for a master */
  slots: [number, number][];
  /** false when the cluster marks it failed */
  up: boolean;
}

/** The nodes as `port` sees them (CLUSTER NODES). */
export async function clusterNodes(port: number): Promise<ClusterNodeInfo[]> {
  const text = String(await nodeCommand(port, 'CLUSTER', 'NODES'));
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, master, , , , , ...slots] = line.split(' ');
      const f = flags!.split(',');
      return {
        port: Number(addr!.split('@')[0]!.split(':').pop()),
        id: id!,
        role: f.includes('master') ? ('master' as const) : ('replica' as const),
        masterId: master === '-' ? null : master!,
        slots: slots.filter((s) => !s.startsWith('[')).map((s) => {
          const [a, b] = s.split('-').map(Number);
          return [a!, b ?? a!] as [number, number];
        }),
        up: !f.includes('fail') && !f.includes('fail?'),
      };
    });
}

/** The controls of the cluster on `ports` whose nodes keep their config in `dir`. */
export function clusterControl(ports: number[], dir: string): ClusterControl {
  const nodes = async () => {
    for (const p of ports) {
      const seen = await clusterNodes(p).catch(() => null);
      if (seen) return seen;
    }
    throw new Error('redis cluster: no node answers');
  };
  return {
    ports,
    nodes,
    masters: async () => (await nodes()).filter((n) => n.role === 'master' && n.up && n.slots.length > 0),
    kill: killNode,
    restart: (port) => restartNode(port, dir),
    untilHealthy: (timeoutMs) => untilClusterHealthy(ports, timeoutMs),
  };
}

/** SIGKILL of the node on `port` (a crash: nothing flushed); resolves once it stopped answering. */
export async function killNode(port: number): Promise<void> {
  const pid = Number(/process_id:(\d+)/.exec(await info(port, 'server'))?.[1]);
  if (!pid) throw new Error(`redis cluster: no node answers on port ${port}`);
  process.kill(pid, 'SIGKILL');
  await until(`node ${port} gone`, async () => !(await ping(port)));
}

/**
 * Starts a killed node again on its port with its cluster config, in the cluster's directory
 * (`dir` of {@link RedisCluster}, provided to tests): it rejoins, as a replica when its slots
 * were failed over meanwhile. The run's teardown stops it by port.
 */
export async function restartNode(port: number, dir: string): Promise<void> {
  const child = await startNode(port, dir, { detached: true });
  child.unref();
}

/**
 * Waits until every node that answers sees the cluster ok, every master has a synced replica,
 * and every node's own view has every node up (gossip has caught up with a restarted one, so
 * any node answers CLUSTER NODES the same way).
 */
export async function untilClusterHealthy(ports: number[], timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const allUp = async (p: number) => (await clusterNodes(p)).every((n) => n.up);
  await until('cluster healthy', async () => {
    const ok = await Promise.all(ports.map(async (p) => (await ping(p)) && (await clusterOk(p)) && (await replicationOk(p)) && (await allUp(p))));
    return ok.every(Boolean);
  }, timeoutMs);
}
