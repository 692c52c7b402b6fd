/**
 * Starts a private Redis Cluster for the test run: 3 masters and 3 replicas on loopback ports
 * whose cluster bus ports (port + 10 000) are free too, persistence off, a small
 * cluster-node-timeout so a failover takes about a second. Used by test/global-setup.ts; the
 * failover test kills a master of it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ping } from './redis-server.js';

export interface ClusterNode {
  port: number;
  child: ChildProcess;
}

export interface RedisCluster {
  nodes: ClusterNode[];
  /** "127.0.0.1:port,..." (REDIS_CLUSTER_NODES) */
  seeds: string;
  /** starts a (killed) node again on its port, with its cluster config: it rejoins as a replica */
  restart(port: number): ClusterNode;
  stop(): Promise<void>;
}

/** How long a silent master takes to be failed over (ms). */
export const NODE_TIMEOUT_MS = 1000;

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/** A port free together with its bus port (port + 10 000). */
async function freePortPair(taken: Set<number>): Promise<number> {
  for (;;) {
    const p = 20000 + Math.floor(Math.random() * 10000);
    if (taken.has(p) || taken.has(p + 10000)) continue;
    if ((await canBind(p)) && (await canBind(p + 10000))) {
      taken.add(p);
      taken.add(p + 10000);
      return p;
    }
  }
}

const cli = (args: string[]) => spawnSync('redis-cli', args, { encoding: 'utf8', timeout: 30_000 });

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`redis cluster: ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** cluster_state:ok and every slot served, as node `port` sees it. */
export function clusterOk(port: number): boolean {
  const info = cli(['-p', String(port), 'cluster', 'info']).stdout ?? '';
  return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info);
}

export function startNode(port: number, dir: string): ClusterNode {
  const child = spawn(
    'redis-server',
    [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
      '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes',
    ],
    { stdio: 'ignore' },
  );
  return { port, child };
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'private-redis-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < 6; i++) ports.push(await freePortPair(taken));
  const nodes = ports.map((p) => startNode(p, dir));
  const stop = async () => {
    await Promise.all(
      nodes.map(async (n) => {
        if (n.child.exitCode !== null || n.child.signalCode !== null) return;
        const gone = new Promise<void>((r) => n.child.once('exit', () => r()));
        n.child.kill('SIGKILL');
        await gone;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until('nodes answering PING', async () => (await Promise.all(ports.map(ping))).every(Boolean));
    const created = cli(['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}\n${created.stderr}`);
    await until('cluster_state:ok on every node', () => ports.every(clusterOk));
    // Replicas must have synced before a failover can promote them.
    await until('replicas in sync', () =>
      ports.every((p) => {
        const info = cli(['-p', String(p), 'info', 'replication']).stdout ?? '';
        return /role:master/.test(info) ? /connected_slaves:1/.test(info) : /master_link_status:up/.test(info);
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const restart = (port: number) => {
    const node = startNode(port, dir);
    nodes.push(node);
    return node;
  };
  return { nodes, seeds: ports.map((p) => `127.0.0.1:${p}`).join(','), restart, stop };
}
