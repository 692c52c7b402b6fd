/**
 * What a WebSocket subscriber costs the server's heap, and where it is allocated:
 *
 *   npx tsx bench/connect-memory.ts [--n 2000] [--top 15] [--stacks] [--root DIR]
 *
 * Starts the server as the bench does (compiled dist/, scheduler on; `npm run build` first, or
 * `--root` another checkout's build) with its inspector open, warms it up, then opens `n`
 * notificationReceived subscribers twice over, as the `hotpaths` bench's idle part does:
 *
 * 1. allocated per connect, by allocation site: V8's sampling heap profiler over the first
 *    batch, counting what was collected as well (what the handshake and subscribe allocate);
 * 2. retained per connection, by allocation site: the same profiler over the second batch,
 *    read after a full collection;
 * 3. retained per connection, by kind of object: two heap snapshots around the second batch,
 *    after full collections (closures, contexts, strings, …).
 *
 * `--stacks` prints each site with its callers. The figures are heap only (no native socket
 * memory) and include the probe sends that tell when the last subscriber is live.
 */
import { parseArgs } from 'node:util';
import { freePort } from '../test/helpers/redis-server.js';
import { openBenchRedis } from './redis-server.js';
import { gql, inspectorSession, startServer } from './server-process.js';
import { connect, type LoadSocket } from './ws-load.js';

const NOTIF_SUB = 'subscription{ notificationReceived { id title createdAt } }';
const SEND = 'mutation($u:ID!,$t:String!){ sendNotification(input:{userIds:[$u], type:"task_assigned", title:$t, body:"bench"}){ notifications { id } } }';

const { values } = parseArgs({ options: { n: { type: 'string', default: '2000' }, top: { type: 'string', default: '15' }, stacks: { type: 'boolean', default: false }, root: { type: 'string' } } });
const N = Number(values.n);
const TOP = Number(values.top);

interface Inspector {
  call(method: string, params?: object): Promise<any>;
  snapshot(): Promise<HeapSnapshot>;
  close(): void;
}

async function inspector(port: number): Promise<Inspector> {
  const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  let chunks: string[] = [];
  const session = await inspectorSession(target!.webSocketDebuggerUrl, (method, params) => {
    if (method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push((params as { chunk: string }).chunk);
  });
  return {
    call: session.call,
    async snapshot() {
      chunks = [];
      await session.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      return JSON.parse(chunks.join('')) as HeapSnapshot;
    },
    close: session.close,
  };
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count by kind of object (type and constructor or closure name). */
function byKind(snap: HeapSnapshot): Map<string, { n: number; size: number }> {
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [nf, iType, iName, iSize] = [f.length, f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size')];
  const out = new Map<string, { n: number; size: number }>();
  for (let i = 0; i < snap.nodes.length; i += nf) {
    const type = types[snap.nodes[i + iType]!]!;
    const name = /string|number/.test(type) ? '' : snap.strings[snap.nodes[i + iName]!]!.slice(0, 60);
    const k = `${type} ${name}`.trim();
    const e = out.get(k) ?? { n: 0, size: 0 };
    e.n++;
    e.size += snap.nodes[i + iSize]!;
    out.set(k, e);
  }
  return out;
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Bytes per connection by allocating function (or by stack, with --stacks). */
function bySite(head: ProfileNode): [string, number][] {
  const out = new Map<string, number>();
  const walk = (n: ProfileNode, path: string[]) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url.replace(/.*node_modules\//, '~/').replace(/.*\/dist\//, 'dist/');
    const frame = `${functionName || '(anonymous)'}  ${where}${where ? `:${lineNumber + 1}` : ''}`;
    const here = [...path, frame];
    if (n.selfSize) {
      const k = values.stacks ? here.slice(-6).reverse().join('\n          <- ') : frame;
      out.set(k, (out.get(k) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(head, []);
  return [...out].map(([k, v]): [string, number] => [k, v / N]).sort((a, b) => b[1] - a[1]);
}

function print(title: string, rows: [string, number][], total: number) {
  console.log(`\n${title}: ${Math.round(total)} B per connection`);
  for (const [k, v] of rows.slice(0, TOP)) console.log(`${Math.round(v).toString().padStart(7)} B  ${k}`);
}

const redis = await openBenchRedis();
const port = await freePort();
const server = await startServer(redis, `${redis.prefix}cm:`, { SCHEDULER_ENABLED: 'true' }, { nodeArgs: [`--inspect=127.0.0.1:${port}`], ...(values.root ? { root: values.root } : {}) });
const session = await inspector(port);
const svc = await server.token('bench-sender', ['service']);
const opened: LoadSocket[] = [];

/** n subscribers, 200 handshakes at a time, each subscribing once acked; resolves when the last one is live. */
async function subscribers(tag: string, n: number): Promise<void> {
  let received = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(200, n) }, async () => {
      while (next < n) {
        const i = next++;
        const s = await connect(server.ws, await server.token(`${tag}${i}`));
        s.subscribe(NOTIF_SUB, {}, () => received++);
        opened.push(s);
      }
    }),
  );
  while (received === 0) {
    await gql(server.http, svc, SEND, { u: `${tag}${n - 1}`, t: 'probe' });
    await new Promise((r) => setTimeout(r, 100));
  }
}

try {
  await subscribers('warm', 50);
  await session.call('HeapProfiler.enable');
  await session.call('HeapProfiler.collectGarbage');

  await session.call('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  await subscribers('a', N);
  const allocated = bySite(((await session.call('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } }).profile.head);
  print('allocated per connect, by site', allocated, allocated.reduce((s, [, v]) => s + v, 0));

  await session.call('HeapProfiler.collectGarbage');
  const before = byKind(await session.snapshot());
  await session.call('HeapProfiler.startSampling', { samplingInterval: 256 });
  await subscribers('b', N);
  await session.call('HeapProfiler.collectGarbage');
  const retained = bySite(((await session.call('HeapProfiler.getSamplingProfile')) as { profile: { head: ProfileNode } }).profile.head);
  await session.call('HeapProfiler.stopSampling');
  print('retained per connection, by site', retained, retained.reduce((s, [, v]) => s + v, 0));

  const after = byKind(await session.snapshot());
  const kinds: [string, number][] = [...after].map(([k, v]) => [`${k} (${((v.n - (before.get(k)?.n ?? 0)) / N).toFixed(1)} each)`, (v.size - (before.get(k)?.size ?? 0)) / N]);
  print('retained per connection, by kind (heap snapshots)', kinds.sort((a, b) => b[1] - a[1]), kinds.reduce((s, [, v]) => s + v, 0));
} finally {
  for (const s of opened) s.close();
  session.close();
  await server.stop();
  await redis.stop();
}
