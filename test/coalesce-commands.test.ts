/**
 * The command connection's writes (src/store/redis/coalesce-commands.ts): a turn's several
 * commands leave in one write at its end; lone commands of different I/O callbacks of one loop
 * iteration (each HTTP request's data is its own callback) leave together in one write.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { coalesceCommands } from '../src/store/redis/coalesce-commands.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';

let server: RedisServer;
let redis: Redis;
let peers: net.Server | undefined;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
  coalesceCommands(redis);
  await redis.ping();
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((resolve) => (peers ? peers.close(() => resolve()) : resolve()));
  peers = undefined;
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** Counts the writes (syscalls) made to the command connection's socket from now on. */
function countWrites(): { count: number } {
  const counter = { count: 0 };
  const socket = (redis as unknown as { stream: net.Socket & Record<'_write' | '_writev', (...a: unknown[]) => unknown> }).stream;
  for (const name of ['_write', '_writev'] as const) {
    const original = socket[name];
    socket[name] = (...args: unknown[]) => {
      counter.count++;
      return original.apply(socket, args);
    };
  }
  return counter;
}

/** Blocks the thread, so that what the peers sent meanwhile is all ready at the next poll. */
function block(ms: number): void {
  for (const end = Date.now() + ms; Date.now() < end; );
}

it('writes the commands of one turn once', async () => {
  await redis.del('turn');
  const writes = countWrites();
  const replies = await Promise.all(Array.from({ length: 10 }, () => redis.incr('turn')));
  expect(replies.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(writes.count).toBe(1);
});

/**
 * `n` peers whose data each runs `onData` in its own I/O callback; `send()` makes every peer
 * send at once, and blocks the thread so that all of it is ready at the next poll.
 */
async function peersOf(n: number, onData: () => void): Promise<{ send(): void }> {
  peers = net.createServer((s) => {
    sockets.push(s);
    s.on('data', onData);
  });
  await new Promise<void>((resolve) => peers!.listen(0, '127.0.0.1', resolve));
  const { port } = peers.address() as net.AddressInfo;
  const clients = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Socket>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => resolve(c));
    })),
  );
  sockets.push(...clients);
  // Every accepted socket has its 'data' listener before anything is sent.
  for (const end = Date.now() + 5000; sockets.length < 2 * n && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
  expect(sockets).toHaveLength(2 * n);
  return {
    send() {
      for (const c of clients) c.write('x');
      block(50);
    },
  };
}

it('writes the lone commands of several I/O callbacks of one loop iteration once', async () => {
  await redis.del('io');
  const N = 8;
  const replies: Promise<number>[] = [];
  let heard!: () => void;
  const allHeard = new Promise<void>((resolve) => (heard = resolve));
  const { send } = await peersOf(N, () => {
    replies.push(redis.incr('io'));
    if (replies.length === N) heard();
  });
  const writes = countWrites();
  send();
  await allHeard;
  expect((await Promise.all(replies)).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(writes.count).toBe(1);
});

it("writes a callback's several commands at the end of its turn, before the iteration's next callback", async () => {
  await redis.del('batch');
  const replies: Promise<number>[] = [];
  const writesSeen: number[] = [];
  let writes = { count: 0 };
  let heard!: () => void;
  const allHeard = new Promise<void>((resolve) => (heard = resolve));
  const { send } = await peersOf(2, () => {
    writesSeen.push(writes.count);
    for (let i = 0; i < 3; i++) replies.push(redis.incr('batch'));
    if (writesSeen.length === 2) heard();
  });
  writes = countWrites();
  send();
  await allHeard;
  expect((await Promise.all(replies)).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  // The second callback of the iteration finds the first one's batch written.
  expect(writesSeen).toEqual([0, 1]);
  expect(writes.count).toBe(2);
});

it('sends a command issued from an immediate or a timer without waiting for other work', async () => {
  const fromImmediate = new Promise<string>((resolve, reject) => setImmediate(() => redis.ping('immediate').then(resolve, reject)));
  const fromTimer = new Promise<string>((resolve, reject) => setTimeout(() => redis.ping('timer').then(resolve, reject), 1));
  // The immediate's command is issued after this iteration's uncork: it leaves in the next one.
  const late = new Promise<string>((resolve, reject) =>
    setImmediate(() => setImmediate(() => redis.ping('late').then(resolve, reject))),
  );
  expect(await Promise.all([fromImmediate, fromTimer, late])).toEqual(['immediate', 'timer', 'late']);
});
