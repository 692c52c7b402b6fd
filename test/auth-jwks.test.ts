/**
 * Tokens from an identity provider: a JWKS served by a local HTTP server this test starts,
 * keys made by jose (RS256, ES256), over the verifier and end to end over HTTP and WebSocket.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey, createHmac } from 'node:crypto';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MeQuery, NotificationReceivedSubscription, UnreadCountChangedSubscription } from '../src/client/operations.js';
import { AuthError, createAuth, type Auth, type AuthOptions, type JwksOptions } from '../src/server/auth.js';
import { codes, SECRET, useTestApp } from './helpers/app.js';
import { subscribe, wsClient } from './helpers/ws.js';

const ISSUER = 'https://idp.test/realms/acme';
const AUDIENCE = 'notifications';

interface Key {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  jwk: JWK;
  spki: string;
}

async function newKey(kid: string, alg: Key['alg']): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, spki: await exportSPKI(publicKey) };
}

/** A JWKS endpoint on 127.0.0.1: serves `keys`, or 503 while `failing`, and counts requests. */
class JwksServer {
  keys: Key[] = [];
  failing = false;
  requests = 0;
  private server = http.createServer((_req, res) => {
    this.requests++;
    if (this.failing) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
  });
  url = '';
  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/certs`;
  }
  /** Gone for good: connections to the port are refused from now on. */
  async stop() {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Claims {
  sub?: string;
  iss?: string;
  aud?: string;
  exp?: number | string;
  nbf?: number | string;
  [claim: string]: unknown;
}

/** An IdP-style token: issuer, audience and a Keycloak-like roles claim unless overridden. */
function idpToken(key: Key, claims: Claims = {}, header: Record<string, unknown> = {}): Promise<string> {
  const { iss = ISSUER, aud = AUDIENCE, exp = '5m', nbf, sub = 'f3b5c0de-0000-4000-8000-000000000001', ...rest } = claims;
  const jwt = new SignJWT({ realm_access: { roles: ['offline_access', 'uma_authorization'] }, ...rest })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .setSubject(sub)
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime(exp);
  if (nbf !== undefined) jwt.setNotBefore(nbf);
  return jwt.sign(key.privateKey);
}

/** A hand-made HS256 token whose HMAC key is a public key's PEM: the classic key-confusion forgery. */
function hs256WithPublicKey(key: Key, claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300, ...claims })}`;
  const pem = createPublicKey(key.spki).export({ type: 'spki', format: 'pem' });
  return `${head}.${createHmac('sha256', pem).update(head).digest('base64url')}`;
}

async function refused(auth: Auth, token: string): Promise<string> {
  try {
    await auth.verify(`Bearer ${token}`);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return (err as Error).message;
  }
  throw new Error('expected the token to be refused');
}

const jwksServer = new JwksServer();
let rsa: Key;
let ec: Key;
beforeAll(async () => {
  [rsa, ec] = await Promise.all([newKey('rsa-1', 'RS256'), newKey('ec-1', 'ES256')]);
  jwksServer.keys = [rsa, ec];
  await jwksServer.start();
});
afterAll(() => jwksServer.stop());
afterEach(() => {
  jwksServer.keys = [rsa, ec];
  jwksServer.failing = false;
});

const jwks = (o: Partial<JwksOptions> = {}): JwksOptions => ({
  url: jwksServer.url,
  issuer: ISSUER,
  audience: AUDIENCE,
  rolesClaim: 'realm_access.roles',
  cooldownMs: 0,
  ...o,
});
const idpAuth = (o: Partial<JwksOptions> = {}, extra: Partial<AuthOptions> = {}) => createAuth({ jwks: jwks(o), logger: pino({ level: 'silent' }), ...extra });

describe('JWKS tokens', () => {
  it('verifies RS256 and ES256 tokens, keeping only the roles we know', async () => {
    const auth = idpAuth();
    await expect(auth.verify(`Bearer ${await idpToken(rsa)}`)).resolves.toMatchObject({ sub: 'f3b5c0de-0000-4000-8000-000000000001', roles: ['user'], expiresAt: expect.any(Number) });
    const admin = await idpToken(ec, { sub: 'ops-1', realm_access: { roles: ['offline_access', 'admin', 'service', 'admin'] } });
    await expect(auth.verify(`Bearer ${admin}`)).resolves.toMatchObject({ sub: 'ops-1', roles: ['admin', 'service'] });
  });

  it('reads the user and roles from the configured claims', async () => {
    const auth = idpAuth({ userClaim: 'preferred_username', rolesClaim: 'resource_access.notifications.roles' });
    const token = await idpToken(rsa, { preferred_username: 'svc.mailer', resource_access: { notifications: { roles: ['service'] }, account: { roles: ['admin'] } } });
    await expect(auth.verify(`Bearer ${token}`)).resolves.toMatchObject({ sub: 'svc.mailer', roles: ['service'] });
    const spaced = await idpToken(rsa, { preferred_username: 'jane doe' });
    expect(await refused(auth, spaced)).toMatch(/user claim \(preferred_username\) must be 1-128 characters/);
    // A namespaced claim (Auth0) is one key with dots in it.
    const auth0 = idpAuth({ rolesClaim: 'https://acme.example/roles' });
    await expect(auth0.verify(`Bearer ${await idpToken(rsa, { 'https://acme.example/roles': ['admin'] })}`)).resolves.toMatchObject({ roles: ['admin'] });
  });

  it('refuses alg none, key confusion, foreign issuer or audience, expired and not-yet-valid tokens', async () => {
    const auth = idpAuth();
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const none = `${b64({ alg: 'none' })}.${b64({ sub: 'u1', iss: ISSUER, aud: AUDIENCE, realm_access: { roles: ['admin'] } })}.`;
    expect(await refused(auth, none)).toBe('token must be signed with RS256 or ES256');
    expect(await refused(auth, hs256WithPublicKey(rsa, { sub: 'u1', realm_access: { roles: ['admin'] } }))).toBe('token must be signed with RS256 or ES256');
    expect(await refused(auth, await idpToken(rsa, { iss: 'https://evil.test/realms/acme' }))).toBe('token issuer is not accepted');
    expect(await refused(auth, await idpToken(rsa, { aud: 'another-app' }))).toBe('token audience is not accepted');
    expect(await refused(auth, await idpToken(rsa, { exp: Math.floor(Date.now() / 1000) - 60 }))).toBe('token has expired');
    expect(await refused(auth, await idpToken(ec, { nbf: '1h' }))).toBe('token is not yet valid');
    const other = await newKey('rsa-1', 'RS256'); // same kid, key not published
    expect(await refused(auth, await idpToken(other))).toBe('token signature is invalid');
  });

  it('with a secret too, picks the key by alg: HS256 → secret, RS/ES → JWKS', async () => {
    const auth = idpAuth({}, { secret: SECRET });
    const own = await auth.sign({ sub: 'svc', roles: ['service'] });
    await expect(auth.verify(`Bearer ${own}`)).resolves.toMatchObject({ sub: 'svc', roles: ['service'] });
    await expect(auth.verify(`Bearer ${await idpToken(rsa)}`)).resolves.toMatchObject({ roles: ['user'] });
    expect(await refused(auth, hs256WithPublicKey(rsa, { sub: 'u1' }))).toBe('token signature is invalid');
  });

  it('cannot sign without a secret', async () => {
    expect.assertions(1);
    await expect(idpAuth().sign({ sub: 'u1' })).rejects.toThrow(/JWT_SECRET/);
  });

  it('fetches the key set once, and again when a new kid appears (rotation)', async () => {
    const auth = idpAuth({ cooldownMs: 0 });
    const before = jwksServer.requests;
    await auth.verify(`Bearer ${await idpToken(rsa)}`);
    await auth.verify(`Bearer ${await idpToken(ec)}`);
    expect(jwksServer.requests - before).toBe(1);
    const next = await newKey('rsa-2', 'RS256');
    const early = await idpToken(next);
    expect(await refused(auth, early)).toBe("no key of the identity provider matches the token's kid");
    jwksServer.keys = [next, ec];
    await expect(auth.verify(`Bearer ${early}`)).resolves.toMatchObject({ roles: ['user'] });
    expect(jwksServer.requests - before).toBe(3);
  });

  it('asks for an unknown kid at most once per cooldown', async () => {
    const auth = idpAuth({ cooldownMs: 60_000 });
    const before = jwksServer.requests;
    await auth.verify(`Bearer ${await idpToken(rsa)}`);
    const stranger = await newKey('rsa-9', 'RS256');
    for (let i = 0; i < 5; i++) expect(await refused(auth, await idpToken(stranger, { sub: `u${i}` }))).toMatch(/no key/);
    expect(jwksServer.requests - before).toBe(1);
  });

  it('keeps verifying with the cached keys while the provider fails, asking again once per cooldown', async () => {
    // cacheMaxAgeMs 0: every use would refetch, so each verification below meets the failing provider.
    const auth = idpAuth({ cacheMaxAgeMs: 0, cooldownMs: 60_000 });
    await auth.verify(`Bearer ${await idpToken(rsa)}`);
    jwksServer.failing = true;
    const before = jwksServer.requests;
    for (let i = 0; i < 3; i++) await expect(auth.verify(`Bearer ${await idpToken(i % 2 ? rsa : ec, { sub: `u${i}` })}`)).resolves.toMatchObject({ sub: `u${i}` });
    expect(jwksServer.requests - before).toBe(1);
    const stranger = await newKey('rsa-9', 'RS256');
    expect(await refused(auth, await idpToken(stranger))).toMatch(/no key/);
  });

  it('refuses (never throws anything else) when the provider was never reachable', async () => {
    const auth = idpAuth();
    jwksServer.failing = true;
    expect(await refused(auth, await idpToken(rsa))).toBe("the identity provider's keys (JWT_JWKS_URL) could not be fetched");
  });
});

// A provider of its own, which the HTTP test takes down for good.
const gone = new JwksServer();
await gone.start();

describe('JWKS tokens end to end', () => {
  beforeAll(() => {
    gone.keys = [rsa, ec];
  });
  afterAll(() => gone.stop().catch(() => {}));
  // cacheMaxAgeMs 0: every verification would go to the provider, so its going away shows.
  const t = useTestApp('memory', { auth: idpAuth({ url: gone.url, cacheMaxAgeMs: 0, cooldownMs: 60_000 }) });

  async function post(url: string, token: string) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    return { status: res.status, body: (await res.json()) as { data?: { me: { id: string } }; errors?: { extensions?: { code?: string } }[] } };
  }

  it('over HTTP: IdP tokens work, bad ones are UNAUTHENTICATED (401, never 500), also after the provider went away', async () => {
    const { http: url } = await t().listen();
    expect(await post(url, await idpToken(rsa, { sub: 'kc-user' }))).toMatchObject({ status: 200, body: { data: { me: { id: 'kc-user' } } } });
    for (const bad of [await idpToken(rsa, { aud: 'other' }), await idpToken(rsa, { exp: Math.floor(Date.now() / 1000) - 60 }), hs256WithPublicKey(rsa, { sub: 'u1' })]) {
      const r = await post(url, bad);
      expect(r.status).toBe(401);
      expect(codes(r.body as never)).toEqual(['UNAUTHENTICATED']);
    }
    await gone.stop();
    expect(await post(url, await idpToken(rsa, { sub: 'kc-user-2' }))).toMatchObject({ status: 200, body: { data: { me: { id: 'kc-user-2' } } } });
    const stranger = await newKey('rsa-9', 'RS256');
    const r = await post(url, await idpToken(stranger));
    expect(r.status).toBe(401);
    expect(codes(r.body as never)).toEqual(['UNAUTHENTICATED']);
    expect((await t().run(MeQuery, {}, await idpToken(rsa, { sub: 'kc-user-3' }))).data?.me?.id).toBe('kc-user-3');
  });

  it('over WebSocket: an IdP token subscribes; a refused one closes with 4403 at connect', async () => {
    const { ws } = await t().listen();
    const good = wsClient(ws, await idpToken(ec, { sub: 'kc-ws' }));
    const feed = subscribe(good.client, UnreadCountChangedSubscription, {});
    expect((await feed.waitFor(1))[0]!.data).toEqual({ unreadCountChanged: 0 });
    const bad = wsClient(ws, await idpToken(rsa, { iss: 'https://evil.test' }));
    const badFeed = subscribe(bad.client, NotificationReceivedSubscription, {});
    expect((await bad.closed).code).toBe(4403);
    expect(await badFeed.ended).toHaveProperty('error');
    const none = wsClient(ws, `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`);
    subscribe(none.client, NotificationReceivedSubscription, {});
    expect((await none.closed).code).toBe(4403);
  });
});
