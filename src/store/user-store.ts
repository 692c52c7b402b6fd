import type { Preferences, UserRecord } from './types.js';

/** Users and their preferences (Store semantics: store.ts). */
export interface UserStore {
  /** Creates the user (active) if it does not exist. Existing users are left as they are. */
  ensureUser(userId: string, now: number): Promise<void>;
  upsertUser(userId: string, patch: { displayName?: string | null; active?: boolean }, now: number): Promise<UserRecord>;
  /** Plain reads, in key order, null where missing. One round trip for any number of ids. */
  getUsers(userIds: readonly string[]): Promise<(UserRecord | null)[]>;
  updatePreferences(userId: string, patch: Partial<Preferences>, now: number): Promise<UserRecord>;
  countActiveUsers(): Promise<number>;
}
