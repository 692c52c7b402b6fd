/**
 * What one send costs Redis (sendNotification.lua), on a private server so that INFO
 * commandstats counts this file's commands only. Each command a script runs costs Redis about
 * as much as a small read, whatever it does (docs/performance.md), so the send path is held to
 * its count; `npm run bench -- hotpaths` shows the CPU.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels } from '../src/realtime/channels.js';
import type { UserEvent } from '../src/store/events.js';
import { keySpace, requestGuardTtl } from '../src/store/redis/keys.js';
import { SCRIPTS, scriptSource } from '../src/store/redis/scripts.js';
import { createRedisStore } from '../src/store/redis/redis-store.js';
import type { Store } from '../src/store/store.js';
import { newItem } from './helpers/store-backends.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';

const USERS = ['ann', 'bob', 'cy', 'dee', 'eve'];
let server: RedisServer;
let redis: Redis;
let sub: Redis;
let store: Store;
const messages: string[] = [];
const ch = channels('c:');

/** Waits (a liveness bound of 5 s) until the subscriber has heard `n` messages in all. */
async function arrived(n: number): Promise<void> {
  for (const end = Date.now() + 5000; messages.length < n && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
  expect(messages.length).toBeGreaterThanOrEqual(n);
}

/** Commands run since the last RESETSTAT, by name, without EVALSHA and INFO themselves. */
async function commandCalls(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) {
    if (!/^(evalsha|info|config)/.test(m[1]!)) out[m[1]!] = Number(m[2]);
  }
  return out;
}

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
  sub = new Redis(server.url);
  sub.on('smessage', (_channel: string, msg: string) => void messages.push(msg));
  for (const u of USERS) await sub.ssubscribe(ch.user(u));
  store = createRedisStore({ redis, cap: 100, prefix: 'c:', channels: ch });
});

afterAll(async () => {
  sub?.disconnect();
  redis?.disconnect();
  await server?.stop();
});

describe('a send to a user with nothing to settle', () => {
  it('runs at most 24 commands inside its script, sets no lifetime again, and publishes one message: the notification, then the count', async () => {
    const now = Date.now();
    // The first sends create the users, the day's counters and the minute's resend guard.
    for (const u of USERS) await store.send([u], newItem(now), now);
    await arrived(USERS.length);
    const before = messages.length;
    await redis.config('RESETSTAT');
    for (let i = 1; i <= 4; i++) for (const u of USERS) expect((await store.send([u], newItem(now + i), now + i))[0]!.status).toBe('stored');
    const sends = 4 * USERS.length;

    const calls = await commandCalls();
    const total = Object.values(calls).reduce((a, b) => a + b, 0);
    // 33 before: the watermark's rewrites, the lifetimes set again, the sequence's second read,
    // the latest expiry's write and the second message are gone (docs/performance.md).
    expect(total / sends).toBeLessThanOrEqual(24);
    expect(calls.pexpire ?? 0).toBe(0);
    expect(calls.spublish).toBe(sends);

    await arrived(before + sends);
    await new Promise((r) => setTimeout(r, 50)); // and nothing more
    const sent = messages.slice(before).map((m) => JSON.parse(m) as UserEvent[]);
    expect(sent).toHaveLength(sends);
    for (const evs of sent) {
      expect(evs.map((e) => e.kind)).toEqual(['notification', 'unread']);
    }
    expect(sent.filter((evs) => evs[1]!.kind === 'unread' && evs[1]!.count === 5)).toHaveLength(USERS.length);
  });

  it('gives redis.call no Lua numbers (Redis 7.0 turns each into text with snprintf)', async () => {
    const now = Date.now();
    await store.send(['zed'], newItem(now), now);
    // The script call of the next send, as the store writes it: sha, key count, keys, arguments.
    let call: (string | number)[] | undefined;
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = (command, stream) => {
      if (command.name === 'evalsha') call ??= [...command.args] as (string | number)[];
      return send(command, stream);
    };
    try {
      await store.send(['zed'], newItem(now + 1), now + 1);
    } finally {
      redis.sendCommand = send;
    }
    const [, keyCount, ...rest] = call!;
    const args = rest.slice(Number(keyCount));
    // a new request id, so that the resend guard lets the copy run
    args[Object.keys(SCRIPTS.sendNotification.argv).indexOf('requestId')] = 'checked';
    // The script again, with redis.call checking what it is given (a local shadows the global).
    const checking = `local redis = setmetatable({call = function(cmd, ...)
      for i = 1, select('#', ...) do
        if type(select(i, ...)) == 'number' then error('redis.call ' .. cmd .. ' got a Lua number as argument ' .. i) end
      end
      return redis.call(cmd, ...)
    end}, {__index = redis})\n`;
    const reply = (await redis.eval(checking + scriptSource('sendNotification'), Number(keyCount), ...rest.slice(0, Number(keyCount)), ...args)) as string[];
    expect(reply[0]).toBe('ok');
  });

  it("keeps its resend guard until REQUEST_KEEP_MS after the minute's start, set once", async () => {
    // its own keys: the first test's sends made this minute's guard with other times
    const guarded = createRedisStore({ redis, cap: 100, prefix: 'g:', channels: channels('g:') });
    const now = Date.now();
    await guarded.send(['ann'], newItem(now), now);
    const key = keySpace('g:').partitionOf('ann').requests(now);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(requestGuardTtl(now));
    // a later send of the same minute finds the lifetime set and leaves it
    await redis.pexpire(key, 600_000);
    await guarded.send(['ann'], newItem(now + 1), now + 1);
    expect(await redis.pttl(key)).toBeGreaterThan(requestGuardTtl(now));
  });
});
