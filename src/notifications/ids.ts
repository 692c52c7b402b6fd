/**
 * Ids. Notification and broadcast ids are the store's sequence (src/store/ids.ts, re-exported
 * here). Ids that callers choose (users, templates) become parts of Redis keys and hash tags,
 * hence the narrow charset.
 */
import { USER_ID } from '../store/ids.js';

export { SEQ_ID_WIDTH, clockSeq, decodeSeq, encodeSeq, nextSeq } from '../store/ids.js';

/** User ids, template names and other ids chosen by callers: the store's user id charset. */
export const EXTERNAL_ID = USER_ID;

/** Notification types and dedup keys: no separators that our storage formats use (tab, colon is fine). */
export const TYPE_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;
export const DEDUP_KEY = /^[A-Za-z0-9_.:@/-]{1,200}$/;

/** Topic names: safe as channel suffixes, readable in logs. */
export const TOPIC_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
