/**
 * Bearer-token authentication: HS256 JWTs via `jose`.
 *
 * Claims: `sub` is the user/service id (it ends up inside Redis keys, hence the
 * strict charset), `roles` is an optional array of {@link Role}s.
 */
import { randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { ROLES, type Role } from '../notifications/types.js';
import { MIN_JWT_SECRET_LENGTH } from '../config.js';

export type { Role };

/** Who is calling. */
export interface Principal {
  sub: string;
  /** Never empty; `['user']` when the token carries no `roles` claim. */
  roles: Role[];
  /** expiry (epoch ms) when the token has one: live subscriptions end then */
  expiresAt?: number;
}

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
/** Absorbs small clock differences between the signer and this instance. */
const CLOCK_TOLERANCE_S = 5;
const DEFAULT_EXPIRES_IN = '1h';
/** Verified tokens kept (oldest dropped first); a hit skips the HMAC. */
const VERIFIED_CACHE_SIZE = 10_000;

/** What {@link createAuth} returns. */
export interface Auth {
  /**
   * Checks an `Authorization` header value.
   * @returns null when there is no header (anonymous), else the principal.
   * @throws {@link AuthError} on a non-Bearer scheme, a bad signature, an expired token,
   *   an unknown role or a `sub` outside {@link SUB_PATTERN}.
   */
  verify(authorizationHeader: string | null | undefined): Promise<Principal | null>;
  /**
   * Signs a token. `expiresIn` takes jose's time spans ('15m', '2h', '7d'); default '1h'.
   * @throws {@link AuthError} when `sub` or `roles` would not pass {@link Auth.verify}.
   */
  sign(p: { sub: string; roles?: Role[]; expiresIn?: string }): Promise<string>;
}

function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

function checkSub(sub: unknown): string {
  if (typeof sub !== 'string' || !SUB_PATTERN.test(sub)) {
    throw new AuthError('token subject (sub) must be 1-128 characters of A-Z a-z 0-9 _ . @ -');
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

function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token has expired';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return `token must be signed with ${ALG}`;
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `token claim check failed: ${err.message}`;
  return 'token is malformed';
}

/**
 * Creates the verifier/signer for one shared secret.
 * @param secret - at least {@link MIN_JWT_SECRET_LENGTH} characters (config enforces the same).
 */
export function createAuth(secret: string): Auth {
  if (secret.length < MIN_JWT_SECRET_LENGTH) {
    throw new Error(`JWT secret must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  }
  const raw = new TextEncoder().encode(secret);
  // One CryptoKey for the process: jose would otherwise import the raw secret on every call.
  const key = crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  // Clients send the same token with every request; a verified token is reused until it expires.
  const verified = new Map<string, Principal>();

  return {
    async verify(header) {
      if (header === null || header === undefined || header.trim() === '') return null;
      const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
      if (!m || m[1]!.toLowerCase() !== 'bearer') {
        throw new AuthError('Authorization header must be "Bearer <token>"');
      }
      const hit = verified.get(m[2]!);
      if (hit && (hit.expiresAt === undefined || hit.expiresAt > Date.now())) return hit;
      let payload: JWTPayload;
      try {
        // Pinning algorithms rejects alg=none and asymmetric-key confusion.
        ({ payload } = await jwtVerify(m[2]!, await key, { algorithms: [ALG], clockTolerance: CLOCK_TOLERANCE_S }));
      } catch (err) {
        throw new AuthError(describeJoseError(err), { cause: err });
      }
      const principal: Principal = { sub: checkSub(payload.sub), roles: checkRoles(payload['roles']) };
      if (typeof payload.exp === 'number') principal.expiresAt = payload.exp * 1000;
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(m[2]!, principal);
      return principal;
    },

    async sign({ sub, roles, expiresIn = DEFAULT_EXPIRES_IN }) {
      checkSub(sub);
      const claims = roles === undefined ? {} : { roles: checkRoles(roles) };
      return new SignJWT(claims)
        .setProtectedHeader({ alg: ALG, typ: 'JWT' })
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(await key);
    },
  };
}

/** A fresh secret (48 random bytes, base64url: 64 characters) for development or tests. */
export function randomSecret(): string {
  return randomBytes(48).toString('base64url');
}
