/**
 * User ids outside the charset keys can hold (src/store/ids.ts USER_ID) never reach the store
 * through the service: a lookup answers "no such user", a write is bad input. The Redis keys
 * would throw on them (a bug guard), so these run on both backends.
 */
import { describe, expect, it } from 'vitest';
import { NotificationService } from '../src/notifications/service.js';
import { T0, setups } from './helpers/store-backends.js';

describe.each(setups)('$name store: user ids through the service', ({ make }) => {
  const BAD = ['a{b}', '', 'x:y', 'x'.repeat(129)];

  it('a lookup by an id that cannot name a user answers null, in place, beside real users', async () => {
    const service = new NotificationService(make().store, () => T0);
    await service.upsertUser('ann', 'Ann', true);
    const found = await service.getUsers(['ann', ...BAD, 'nobody']);
    expect(found.map((u) => u?.displayName ?? null)).toEqual(['Ann', null, null, null, null, null]);
  });

  it.each(BAD)('making user %j exist is BAD_USER_INPUT', async (id) => {
    const service = new NotificationService(make().store, () => T0);
    await expect(service.ensureUser(id)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', field: 'userId' });
  });
});
