import { clockSeq, nextSeq } from '../ids.js';

/**
 * The memory store's one id sequence (ids.lua on Redis): items, broadcasts and scheduled sends
 * all take their ids from it, so id order is creation order.
 */
export class Sequence {
  /** the last sequence number issued (0: none yet) */
  last = 0;
  /** Every id this store issues is above it: a restarted server's ids are above the old ones. */
  readonly epoch = clockSeq();

  next(): number {
    return (this.last = nextSeq(this.last));
  }
}
