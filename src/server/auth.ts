/**
 * Bearer-token authentication via `jose`, from two kinds of issuer that can be configured
 * together:
 *
 * - HS256 with a shared secret (`JWT_SECRET`): the server's own format, which {@link Auth.sign}
 *   makes for development, tests and internal services. Claims: `sub` (the user/service id) and
 *   an optional `roles` array of {@link Role}s; an unknown role is an error.
 * - An identity provider's keys (`JWT_JWKS_URL`, RS256/ES256 by default): the user id and roles
 *   come from configurable claims, issuer and audience are checked, and roles we don't know
 *   (an IdP adds its own, such as Keycloak's `offline_access`) are ignored.
 *
 * A token's `alg` header picks the verifier (HS256 → secret, anything else → JWKS), so a token
 * can never be checked with the other kind's key. The user id ends up inside Redis keys, hence
 * the strict charset ({@link SUB_PATTERN}) for both.
 */
import { randomBytes } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Logger } from 'pino';
import { ROLES, type Principal, type Role } from '../notifications/types.js';
import { MIN_JWT_SECRET_LENGTH } from '../config.js';

export type { Principal, Role };

/** A token was sent but is unusable; the message says why and is safe to show the client. */
export class AuthError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthError';
  }
}

/** Allowed `sub` values: safe inside Redis keys and logs. */
export const SUB_PATTERN = /^[A-Za-z0-9_.@-]{1,128}$/;

const ALG = 'HS256';
const DEFAULT_JWKS_ALGORITHMS = ['RS256', 'ES256'];
/** Absorbs small clock differences between the signer and this instance. */
const CLOCK_TOLERANCE_S = 5;
const DEFAULT_EXPIRES_IN = '1h';
/** Verified tokens kept (oldest dropped first); a hit skips the signature check. */
const VERIFIED_CACHE_SIZE = 10_000;

/** Verifying tokens of an identity provider that publishes its keys as a JWKS. */
export interface JwksOptions {
  /** the provider's JWKS document, e.g. Keycloak's `…/realms/<realm>/protocol/openid-connect/certs` */
  url: string;
  /** required `iss`; null: not checked. @default null */
  issuer?: string | null;
  /** required `aud` (one of the token's audiences); null: not checked. @default null */
  audience?: string | null;
  /** accepted `alg`s. @default ['RS256', 'ES256'] */
  algorithms?: readonly string[];
  /** dotted path of the roles array, e.g. `realm_access.roles`. @default 'roles' */
  rolesClaim?: string;
  /** dotted path of the user id. @default 'sub' */
  userClaim?: string;
  /** Least time between two fetches, for unknown `kid`s and while the provider is down. @default 30000 */
  cooldownMs?: number;
  /** Keys older than this are refetched before use (kept if the provider is down). @default 600000 */
  cacheMaxAgeMs?: number;
  /** Fetch timeout. @default 5000 */
  timeoutMs?: number;
}

export interface AuthOptions {
  /** HS256 secret (≥ {@link MIN_JWT_SECRET_LENGTH} characters); needed by {@link Auth.sign}. */
  secret?: string | null;
  jwks?: JwksOptions | null;
  /** warns when the JWKS can't be fetched */
  logger?: Pick<Logger, 'warn'>;
}

/** What {@link createAuth} returns. */
export interface Auth {
  /**
   * Checks an `Authorization` header value.
   * @returns null when there is no header (anonymous), else the principal.
   * @throws {@link AuthError} on a non-Bearer scheme, an algorithm not configured, a bad
   *   signature, an expired or not-yet-valid token, a wrong issuer or audience, keys that
   *   can't be fetched, an unknown role (HS256) or a user id outside {@link SUB_PATTERN}.
   */
  verify(authorizationHeader: string | null | undefined): Promise<Principal | null>;
  /**
   * Signs an HS256 token. `expiresIn` takes jose's time spans ('15m', '2h', '7d'); default '1h'.
   * @throws {@link AuthError} when `sub` or `roles` would not pass {@link Auth.verify}, or
   *   when there is no secret (JWKS only).
   */
  sign(p: { sub: string; roles?: Role[]; expiresIn?: string }): Promise<string>;
}

function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

function checkSub(sub: unknown, claim = 'sub'): string {
  if (typeof sub !== 'string' || !SUB_PATTERN.test(sub)) {
    const name = claim === 'sub' ? 'subject (sub)' : `user claim (${claim})`;
    throw new AuthError(`token ${name} must be 1-128 characters of A-Z a-z 0-9 _ . @ -`);
  }
  return sub;
}

function checkRoles(claim: unknown): Role[] {
  if (claim === undefined) return ['user'];
  if (!Array.isArray(claim) || claim.length === 0) {
    throw new AuthError(`token roles claim must be a non-empty array of ${ROLES.join('|')}`);
  }
  const bad = claim.filter((r) => !isRole(r));
  if (bad.length > 0) {
    throw new AuthError(`token has unknown role(s) ${bad.map((r) => JSON.stringify(r)).join(', ')}; allowed: ${ROLES.join('|')}`);
  }
  return [...new Set(claim as Role[])];
}

/**
 * Roles of an identity provider's token: ours among whatever it lists (an array, or a
 * space-separated string as in OAuth scopes); none of ours, or no claim at all, makes a user.
 */
function idpRoles(claim: unknown): Role[] {
  const listed = Array.isArray(claim) ? claim : typeof claim === 'string' ? claim.split(/\s+/) : [];
  const known = [...new Set(listed.filter(isRole))];
  return known.length > 0 ? known : ['user'];
}

/**
 * `a.b.c` → payload.a.b.c. A claim named with dots (Auth0's namespaced
 * `https://example.com/roles`) is taken whole first.
 */
function claimAt(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let at: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function describeJoseError(err: unknown): string {
  if (err instanceof AuthError) return err.message;
  if (err instanceof joseErrors.JWTExpired) return 'token has expired';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "no key of the identity provider matches the token's kid";
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'token is not yet valid';
    if (err.claim === 'iss') return 'token issuer is not accepted';
    if (err.claim === 'aud') return 'token audience is not accepted';
    return `token claim check failed: ${err.message}`;
  }
  return 'token is malformed';
}

/** Errors of the key lookup that are about the token, not about reaching the provider. */
function isAboutToken(err: unknown): boolean {
  return err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys || err instanceof joseErrors.JOSENotSupported;
}

/**
 * jose's remote key set (cached; refetched on an unknown `kid`, at most once per cooldown),
 * plus what it lacks: once the cache is older than its max age jose refetches before every
 * use and fails while the provider is down. Here the last key set it served keeps verifying
 * then, and the provider is asked again at most once per cooldown instead of on every request.
 */
function jwksKeys(o: JwksOptions, logger?: Pick<Logger, 'warn'>): JWTVerifyGetKey {
  const cooldownMs = o.cooldownMs ?? 30_000;
  const remote = createRemoteJWKSet(new URL(o.url), {
    cooldownDuration: cooldownMs,
    cacheMaxAge: o.cacheMaxAgeMs ?? 600_000,
    timeoutDuration: o.timeoutMs ?? 5000,
  });
  let failedAt = -Infinity;
  let last: { jwks: object; get: JWTVerifyGetKey } | null = null;
  const lastGood = (): JWTVerifyGetKey | null => {
    const jwks = remote.jwks();
    if (!jwks) return null;
    if (last?.jwks !== jwks) last = { jwks, get: createLocalJWKSet(jwks) };
    return last.get;
  };
  return async (header, token) => {
    const fallback = Date.now() - failedAt < cooldownMs ? lastGood() : null;
    if (fallback) return fallback(header, token);
    try {
      return await remote(header, token);
    } catch (err) {
      if (isAboutToken(err)) throw err;
      failedAt = Date.now();
      logger?.warn({ err: err instanceof Error ? err.message : String(err), url: o.url }, 'JWKS fetch failed; verifying with the last keys fetched');
      const keys = lastGood();
      if (keys) return keys(header, token);
      throw new AuthError("the identity provider's keys (JWT_JWKS_URL) could not be fetched", { cause: err });
    }
  };
}

/**
 * Creates the verifier/signer.
 * @param options - a secret (at least {@link MIN_JWT_SECRET_LENGTH} characters; config enforces
 *   the same), or {@link AuthOptions} with a secret, a JWKS, or both.
 */
export function createAuth(options: string | AuthOptions): Auth {
  const { secret = null, jwks = null, logger } = typeof options === 'string' ? { secret: options } : options;
  if (secret === null && jwks === null) throw new Error('auth needs a JWT secret or a JWKS URL');
  if (secret !== null && secret.length < MIN_JWT_SECRET_LENGTH) {
    throw new Error(`JWT secret must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  }
  // One CryptoKey for the process: jose would otherwise import the raw secret on every call.
  const hmacKey =
    secret === null ? null : crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  const jwksAlgorithms = jwks ? [...(jwks.algorithms ?? DEFAULT_JWKS_ALGORITHMS)] : [];
  if (jwksAlgorithms.includes(ALG)) throw new Error('HS256 is verified with the JWT secret, not the JWKS');
  const accepted = [...(hmacKey ? [ALG] : []), ...jwksAlgorithms];
  const getKey = jwks ? jwksKeys(jwks, logger) : null;
  const userClaim = jwks?.userClaim ?? 'sub';
  const rolesClaim = jwks?.rolesClaim ?? 'roles';
  // Clients send the same token with every request; a verified token is reused until it expires.
  const verified = new Map<string, Principal>();

  /** Verifies by the token's own `alg`, so a key is only ever used for its own algorithm. */
  async function check(token: string): Promise<Principal> {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch (err) {
      throw new AuthError('token is malformed', { cause: err });
    }
    // alg=none, and an HS256 token made with a public key when only a JWKS is configured, stop here.
    if (typeof alg !== 'string' || !accepted.includes(alg)) throw new AuthError(`token must be signed with ${accepted.join(' or ')}`);
    if (alg === ALG) {
      const { payload } = await jwtVerify(token, await hmacKey!, { algorithms: [ALG], clockTolerance: CLOCK_TOLERANCE_S });
      return withExpiry({ sub: checkSub(payload.sub), roles: checkRoles(payload['roles']) }, payload);
    }
    const { payload } = await jwtVerify(token, getKey!, {
      algorithms: jwksAlgorithms,
      clockTolerance: CLOCK_TOLERANCE_S,
      ...(jwks!.issuer ? { issuer: jwks!.issuer } : {}),
      ...(jwks!.audience ? { audience: jwks!.audience } : {}),
    });
    return withExpiry({ sub: checkSub(claimAt(payload, userClaim), userClaim), roles: idpRoles(claimAt(payload, rolesClaim)) }, payload);
  }

  return {
    async verify(header) {
      if (header === null || header === undefined) return null;
      // Keyed by the whole header: a client's next request finds its token without a parse.
      const hit = verified.get(header);
      if (hit && (hit.expiresAt === undefined || hit.expiresAt > Date.now())) return hit;
      if (header.trim() === '') return null;
      const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
      if (!m || m[1]!.toLowerCase() !== 'bearer') {
        throw new AuthError('Authorization header must be "Bearer <token>"');
      }
      let principal: Principal;
      try {
        principal = await check(m[2]!);
      } catch (err) {
        // Whatever went wrong (jose, the key fetch, a claim), the caller is unauthenticated, never a 500.
        throw err instanceof AuthError ? err : new AuthError(describeJoseError(err), { cause: err });
      }
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(header, principal);
      return principal;
    },

    async sign({ sub, roles, expiresIn = DEFAULT_EXPIRES_IN }) {
      if (!hmacKey) throw new AuthError('signing needs JWT_SECRET; tokens come from the identity provider');
      checkSub(sub);
      const claims = roles === undefined ? {} : { roles: checkRoles(roles) };
      return new SignJWT(claims)
        .setProtectedHeader({ alg: ALG, typ: 'JWT' })
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(await hmacKey);
    },
  };
}

function withExpiry(principal: Principal, payload: JWTPayload): Principal {
  if (typeof payload.exp === 'number') principal.expiresAt = payload.exp * 1000;
  return principal;
}

/** A fresh secret (48 random bytes, base64url: 64 characters) for development or tests. */
export function randomSecret(): string {
  return randomBytes(48).toString('base64url');
}
