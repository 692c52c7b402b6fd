/**
 * Domain types: the stored shapes (defined by the store, src/store/types.ts, re-exported here
 * for the service and the schema) and who may call. Times are epoch milliseconds.
 */
export * from '../store/types.js';

export const ROLES = ['user', 'service', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** An authenticated caller, as the server's auth makes it from a token (src/server/auth.ts). */
export interface Principal {
  sub: string;
  /** Never empty; `['user']` when the token carries no `roles` claim. */
  roles: Role[];
  /** expiry (epoch ms) when the token has one: live subscriptions end then */
  expiresAt?: number;
}
