import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AuthError, createAuth, randomSecret } from '../src/server/auth.js';

const secret = randomSecret();
const auth = createAuth(secret);
const key = new TextEncoder().encode(secret);

/** A token made directly with jose, to test claims our own sign() refuses to produce. */
function rawToken(claims: Record<string, unknown>, exp: string | number = '5m', alg = 'HS256'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt().setExpirationTime(exp).sign(key);
}

async function authError(header: string): Promise<AuthError> {
  try {
    await auth.verify(header);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return err as AuthError;
  }
  throw new Error(`expected AuthError for ${header}`);
}

describe('randomSecret', () => {
  it('is 48 random bytes in base64url', () => {
    const a = randomSecret();
    expect(a).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(48);
    expect(randomSecret()).not.toBe(a);
  });
});

describe('createAuth', () => {
  it('refuses a secret shorter than 32 characters', () => {
    expect.assertions(1);
    expect(() => createAuth('too-short')).toThrow(/at least 32/);
  });

  it('round-trips sub and roles', async () => {
    const token = await auth.sign({ sub: 'svc.mailer@acme-1', roles: ['service', 'admin'] });
    await expect(auth.verify(`Bearer ${token}`)).resolves.toMatchObject({ sub: 'svc.mailer@acme-1', roles: ['service', 'admin'], expiresAt: expect.any(Number) });
  });

  it('defaults roles to ["user"] when the claim is missing', async () => {
    const token = await auth.sign({ sub: 'u42' });
    await expect(auth.verify(`Bearer ${token}`)).resolves.toMatchObject({ sub: 'u42', roles: ['user'] });
  });

  it('accepts the scheme in any case and extra spaces', async () => {
    const token = await auth.sign({ sub: 'u1' });
    await expect(auth.verify(`bearer ${token}`)).resolves.toMatchObject({ sub: 'u1' });
    await expect(auth.verify(`BEARER   ${token} `)).resolves.toMatchObject({ sub: 'u1' });
  });

  it('returns null when there is no header', async () => {
    await expect(auth.verify(undefined)).resolves.toBeNull();
    await expect(auth.verify(null)).resolves.toBeNull();
    await expect(auth.verify('')).resolves.toBeNull();
  });

  it('rejects an expired token', async () => {
    expect.assertions(2);
    const token = await auth.sign({ sub: 'u1', expiresIn: '-1m' });
    expect((await authError(`Bearer ${token}`)).message).toBe('token has expired');
  });

  it('rejects a token signed with another secret', async () => {
    expect.assertions(2);
    const token = await createAuth(randomSecret()).sign({ sub: 'u1', roles: ['admin'] });
    expect((await authError(`Bearer ${token}`)).message).toBe('token signature is invalid');
  });

  it('rejects a tampered payload', async () => {
    expect.assertions(2);
    const [h, , s] = (await auth.sign({ sub: 'u1' })).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'u1', roles: ['admin'], exp: 9999999999 })).toString('base64url');
    expect((await authError(`Bearer ${h}.${forged}.${s}`)).message).toBe('token signature is invalid');
  });

  it('rejects alg=none', async () => {
    expect.assertions(2);
    const body = Buffer.from(JSON.stringify({ sub: 'u1', roles: ['admin'] })).toString('base64url');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${body}.`;
    expect((await authError(`Bearer ${none}`)).message).toMatch(/HS256|malformed/);
  });

  it.each([
    ['a space', 'user 1'],
    ['a colon (would forge Redis keys)', 'u:1'],
    ['a brace (hash tag)', 'u{1}'],
    ['empty', ''],
    ['129 chars', 'a'.repeat(129)],
  ])('rejects a sub containing %s', async (_label, sub) => {
    expect.assertions(2);
    const token = await rawToken({ sub });
    expect((await authError(`Bearer ${token}`)).message).toMatch(/subject \(sub\)/);
  });

  it('rejects a token without sub', async () => {
    expect.assertions(2);
    expect((await authError(`Bearer ${await rawToken({})}`)).message).toMatch(/subject \(sub\)/);
  });

  it('rejects unknown or malformed roles', async () => {
    expect.assertions(6);
    expect((await authError(`Bearer ${await rawToken({ sub: 'u1', roles: ['root'] })}`)).message).toContain('"root"');
    expect((await authError(`Bearer ${await rawToken({ sub: 'u1', roles: 'admin' })}`)).message).toMatch(/non-empty array/);
    expect((await authError(`Bearer ${await rawToken({ sub: 'u1', roles: [] })}`)).message).toMatch(/non-empty array/);
  });

  it.each([['Basic dXNlcjpwYXNz'], ['Token abc.def.ghi'], ['Bearer'], ['Bearer a b']])(
    'rejects the header %j',
    async (header) => {
      expect.assertions(2);
      expect((await authError(header)).message).toBe('Authorization header must be "Bearer <token>"');
    },
  );

  it('rejects garbage instead of a JWT', async () => {
    expect.assertions(2);
    expect((await authError('Bearer not-a-jwt')).message).toBe('token is malformed');
  });

  it('sign refuses what verify would refuse', async () => {
    expect.assertions(2);
    await expect(auth.sign({ sub: 'bad sub' })).rejects.toBeInstanceOf(AuthError);
    await expect(auth.sign({ sub: 'u1', roles: ['root' as 'user'] })).rejects.toBeInstanceOf(AuthError);
  });
});
