/**
 * Ids the store issues and accepts. Notification and broadcast ids are the backend's sequence
 * number in fixed-width base36, so string order equals creation order and an id doubles as a
 * connection cursor (ids.lua is the same sequence in Redis). User ids become parts of Redis
 * keys and hash tags, hence the narrow charset.
 */

export const SEQ_ID_WIDTH = 11;
const SEQ_ID = /^[0-9a-z]{11}$/;

export function encodeSeq(seq: number): string {
  return seq.toString(36).padStart(SEQ_ID_WIDTH, '0');
}

/** The wall clock in microseconds: the floor of every sequence number issued now (ids.lua clockSeq). */
export const clockSeq = (): number => Date.now() * 1000;

/**
 * The sequence number after `last`: never below the clock, so a store that lost its data never
 * issues an old id again (ids.lua nextSeq). Below 2^53, exact, until the year 2255.
 */
export const nextSeq = (last: number): number => Math.max(last + 1, clockSeq());

/** The sequence number of an issued id, or null when the string is not one. */
export function decodeSeq(id: string): number | null {
  return SEQ_ID.test(id) ? parseInt(id, 36) : null;
}

/** What a user id may be: it is part of keys and of the key names, so no braces, no colon. */
export const USER_ID = /^[A-Za-z0-9_.@-]{1,128}$/;

/**
 * `userId`, if it is one (USER_ID). Both stores refuse others: the domain answers them as bad
 * input before they get here, so one that does is a bug, and it must not make a key.
 */
export function checkUserId(userId: string): string {
  if (!USER_ID.test(userId)) throw new Error(`user id must match ${USER_ID}, got ${JSON.stringify(userId.slice(0, 140))}`);
  return userId;
}
