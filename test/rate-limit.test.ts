/**
 * The mutation limiter settles a principal's concurrent takes together (one consume per bucket
 * on Redis, not one round trip each) with the outcome each take would have had alone, in order.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startRoundTripCounter } from '../bench/round-trips.js';
import { LEASE_MIN_RATE, createMutationLimiter } from '../src/server/rate-limit.js';
import { rateLimitKeys } from '../src/store/redis/keys.js';
import type { Principal } from '../src/server/auth.js';
import { deleteByPrefix, uniquePrefix, withRedis } from './helpers/redis.js';

const redis = withRedis();
const prefix = uniquePrefix();
afterAll(() => deleteByPrefix(redis, prefix));

const service = (sub: string): Principal => ({ sub, roles: ['service'] }) as Principal;

describe.each(['memory', 'redis'] as const)('mutation limiter (%s)', (backend) => {
  const limiter = () => createMutationLimiter({ limits: { service: 3, user: 1 }, redis: backend === 'redis' ? redis : null, prefix: `${prefix}${backend}:` });

  it('takes of one turn: the rate, then the burst, then refusals with a wait, in arrival order', async () => {
    const l = limiter();
    const outcomes = await Promise.all([1, 1, 2, 1, 1, 1, 1].map((points) => l.take(service('a'), points)));
    // window 3: 1, 1 pass; 2 would make 4; burst 3 takes what the window refused: 2, 1 pass; then 1 would make 4.
    expect(outcomes.map((w) => w === null)).toEqual([true, true, true, true, false, false, false]);
    for (const w of outcomes.slice(4)) expect(w).toBeGreaterThanOrEqual(1);
    // Later takes are refused too; another principal has its own budget.
    expect(await l.take(service('a'), 1)).toBeGreaterThanOrEqual(1);
    expect(await l.take(service('b'), 3)).toBeNull();
  });

  it('matches the same takes made one by one', async () => {
    const together = limiter();
    const oneByOne = createMutationLimiter({ limits: { service: 3, user: 1 }, redis: backend === 'redis' ? redis : null, prefix: `${prefix}${backend}:single:` });
    const points = [2, 1, 1, 3, 1, 2];
    const a = await Promise.all(points.map((p) => together.take(service('c'), p)));
    const b: (number | null)[] = [];
    for (const p of points) b.push(await oneByOne.take(service('c'), p));
    expect(a.map((w) => w === null)).toEqual(b.map((w) => w === null));
  });
});

it('concurrent takes of one principal cost one Redis round trip per bucket', async () => {
  const l = createMutationLimiter({ limits: { service: 100, user: 1 }, redis, prefix: `${prefix}trips:` });
  await l.take(service('warm'), 1); // scripts loaded
  const counter = startRoundTripCounter(redis);
  const outcomes = await Promise.all(Array.from({ length: 20 }, () => l.take(service('d'), 1)));
  const commands = counter.commands;
  expect(counter.stop()).toBe(1);
  expect(commands).toBe(1);
  expect(outcomes.every((w) => w === null)).toBe(true);
});

describe('leases (a class with a rate of LEASE_MIN_RATE or more)', () => {
  const instance = (name: string) => createMutationLimiter({ limits: { service: LEASE_MIN_RATE, user: 1 }, redis, prefix: `${prefix}lease:${name}:` });

  it('a settle far from the limit takes a hundredth of the rate more; the takes it covers cost no round trip, and Redis counts them all', async () => {
    const a = instance('a');
    await a.take(service('warm'), 1); // scripts loaded
    const counter = startRoundTripCounter(redis);
    for (let i = 0; i < 11; i++) expect(await a.take(service('e'), 1)).toBeNull();
    expect(counter.commands).toBe(1);
    counter.stop();
    const windowCount = Number(await redis.get(`${rateLimitKeys(`${prefix}lease:a:`).window}:service:e`));
    expect(windowCount).toBe(11);
  });

  it('past half the window, every take goes to Redis: a lease held elsewhere is at most a hundredth of the rate', async () => {
    const a = instance('shared');
    const b = instance('shared'); // another instance on the same Redis
    await a.take(service('warm'), 1);
    expect(await b.take(service('f'), LEASE_MIN_RATE / 2)).toBeNull(); // half the window, no lease (it would pass half)
    const counter = startRoundTripCounter(redis);
    // a hasn't seen the window yet: its first settle leases, then what it learned stops it.
    for (let i = 0; i < 1 + LEASE_MIN_RATE / 100 + 2; i++) expect(await a.take(service('f'), 1)).toBeNull();
    expect(counter.commands).toBe(3);
    counter.stop();
  });
});
