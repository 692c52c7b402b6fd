/**
 * The scripts' typed descriptions (src/store/redis/scripts.ts) against the Lua files' headers,
 * and the keys' own guard: a user id that could break a key's structure never makes a key.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { keySpace, schedulerKeys } from '../src/store/redis/keys.js';
import { SCRIPTS, defineScripts, script, type ScriptName } from '../src/store/redis/scripts.js';
import { startRedisServer } from './helpers/redis-server.js';
import { encodeSeq } from '../src/store/ids.js';
import { partitionOf } from '../src/store/partition.js';

const header = (file: string) => {
  const text = readFileSync(new URL(`../src/store/redis/lua/${file}.lua`, import.meta.url), 'utf8');
  return text.slice(text.indexOf('--[['), text.indexOf(']]'));
};

/**
 * How many KEYS and ARGV a header lists, and whether ARGV goes on ("6.. ids"). Headers number
 * their entries, two spaces apart: "KEYS 1 seq  2 blog", continued on indented lines. "see
 * user-common.lua" stands for the KEYS and ARGV every per-user script starts with.
 */
function declared(text: string) {
  const count = { KEYS: 0, ARGV: 0, rest: false };
  if (/\bKEYS, ARGV 1-4: see user-common\.lua/.test(text)) Object.assign(count, declared(header('user-common')));
  let section: 'KEYS' | 'ARGV' | null = null;
  // a section word, or a number at a line's start, after a section word, or after two spaces
  for (const m of text.matchAll(/(?:^|\s)(KEYS|ARGV)\b[,:]?|(?:^[ \t]*|(?<=(?:KEYS|ARGV),?) |[ \t]{2})(\d+)(?:-(\d+))?(\.\.)?(?=[\s:,])/gm)) {
    if (m[1]) {
      section = m[1] as 'KEYS' | 'ARGV';
      continue;
    }
    if (!section) continue;
    // "6.. ids": the named ones end at 5, any number follow
    if (m[4]) count.rest = true;
    count[section] = Math.max(count[section], m[4] ? Number(m[2]) - 1 : Number(m[3] ?? m[2]));
  }
  return count;
}

describe('Lua scripts', () => {
  const names = Object.keys(SCRIPTS) as ScriptName[];

  it.each(names)('%s: its description lists the KEYS and ARGV its header does', (name) => {
    const spec = SCRIPTS[name];
    expect({ KEYS: spec.keys.length, ARGV: Object.keys(spec.argv).length, rest: 'rest' in spec }).toEqual(declared(header(name)));
  });

  it.each(names)('%s: names each key once', (name) => {
    expect(new Set(SCRIPTS[name].keys).size).toBe(SCRIPTS[name].keys.length);
  });

  it('reads headers as written: a continued list, a range, a variadic tail', () => {
    expect(declared(header('broadcastPart'))).toEqual({ KEYS: 11, ARGV: 13, rest: false });
    expect(declared(header('sendNotification'))).toEqual({ KEYS: 25, ARGV: 20, rest: false });
    expect(declared(header('markRead'))).toEqual({ KEYS: 13, ARGV: 5, rest: true });
  });
});

describe('script calls', () => {
  it('run once each with their arguments whole (multi-byte text too), also after Redis forgot the scripts (SCRIPT FLUSH)', async () => {
    // A private server: SCRIPT FLUSH would make every other test's next call take the fallback.
    const server = await startRedisServer();
    const redis = new Redis(server.url, { lazyConnect: true });
    try {
      await redis.connect();
      defineScripts(redis);
      const { sched, schedbody } = schedulerKeys('t:');
      const { seq } = keySpace('t:').global;
      // multi-byte text: each argument's length is its UTF-8 bytes, not its characters
      const bodies = ['first é', 'second 漢字', 'third 😀 after a flush', 'fourth'];
      const ids: string[] = [];
      for (const [i, json] of bodies.entries()) {
        if (i === 2) expect(await redis.script('FLUSH')).toBe('OK');
        ids.push(await script(redis, 'scheduleSend', { seq, sched, schedbody }, { sendAt: 1000 + i, json }));
      }
      expect(new Set(ids).size).toBe(4);
      expect(await redis.zcard(sched)).toBe(4);
      expect(await redis.hmget(schedbody, ...ids)).toEqual(bodies);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});

/**
 * What the compiler holds callers to (`npm run typecheck` checks this function; it never runs):
 * every key and argument by name and type, across the parts they are passed in.
 */
export function callsTheCompilerChecks(redis: Redis) {
  const keys = keySpace();
  const [user, global] = [keys.user('ann'), keys.partitionOf('ann')];
  const argv = { now: 1, cap: 50, userId: 'ann', channel: 'ntf:{p:0}:u:ann:events' };
  void script(redis, 'ensureUser', [user, global], argv);
  void script(redis, 'upsertUser', [user, global], [argv, { nameMode: 'set', displayName: 'Ann', active: '' }]);
  // @ts-expect-error the partition's keys are missing
  void script(redis, 'ensureUser', [user], argv);
  // @ts-expect-error an argument is missing
  void script(redis, 'upsertUser', [user, global], [argv, { nameMode: 'set', displayName: 'Ann' }]);
  // @ts-expect-error a number where a string goes
  void script(redis, 'upsertUser', [user, global], [argv, { nameMode: 1, displayName: 'Ann', active: '' }]);
  // @ts-expect-error ids for a script that takes none
  void script(redis, 'ensureUser', [user, global], argv, ['x']);
}

describe('keys', () => {
  const keys = keySpace('p:', 16);

  it("a user's keys carry its partition's hash tag, as its partition's keys do", () => {
    const n = partitionOf('a.b@c-d_1', 16);
    expect(keys.user('a.b@c-d_1').inbox).toBe(`p:{p:${n}}:u:a.b@c-d_1:inbox`);
    expect(keys.partitionOf('a.b@c-d_1').due).toBe(`p:{p:${n}}:due`);
    expect(keys.partitionOf('a.b@c-d_1').outbox.ready('WEBHOOK')).toBe(`p:{p:${n}}:o:ready:WEBHOOK`);
  });

  it('spreads users over every partition, the same way in every process', () => {
    const seen = new Set(Array.from({ length: 1000 }, (_, i) => partitionOf(`user-${i}`, 16)));
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    // FNV-1a 32 of "ann" is 0x1529cc18: a change here would move every user of every data set
    expect(partitionOf('ann', 16)).toBe(0x1529cc18 % 16);
  });

  it("finds a delivery's partition from its notification id (ids.lua's sub-millisecond slots)", () => {
    // ms * 1024 + c with c mod 16 = 5: partition 5
    const seq = 1_700_000_000_000 * 1024 + 16 * 3 + 5;
    expect(keys.partitionOfDelivery(`${encodeSeq(seq)}-w`)?.partition).toBe(5);
    expect(keys.partitionOfDelivery('nope')).toBeNull();
  });

  it.each(['', 'a}b', '{a', 'a:b', 'a b', 'a*', 'x'.repeat(129)])('refuses to build keys for the user id %j', (id) => {
    expect(() => keys.user(id)).toThrow(/user id must match/);
  });
});
