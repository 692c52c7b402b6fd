import type { Logger } from 'pino';
import type { InboxStore } from '../store/store.js';

export interface ExpirySweeperOptions {
  store: Pick<InboxStore, 'sweepExpired'>;
  /** @default Date.now */
  clock?: () => number;
  /** time between passes. @default 1000 */
  intervalMs?: number;
  /** users settled per store call. @default 200 */
  batch?: number;
  logger?: Logger;
}

/**
 * Makes counts follow time: once per interval, settles the users whose next expiry has passed
 * (Store.sweepExpired reads the expiry index, never all users), and each settle publishes the
 * new unread count and the removed ids to every live subscriber on every instance. One per
 * instance (main.ts creates it); on Redis instances lease users to each other, so running
 * several only spreads the work.
 */
export class ExpirySweeper {
  private readonly store: Pick<InboxStore, 'sweepExpired'>;
  private readonly clock: () => number;
  private readonly intervalMs: number;
  private readonly batch: number;
  private readonly logger: Logger | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor({ store, clock = Date.now, intervalMs = 1000, batch = 200, logger }: ExpirySweeperOptions) {
    this.store = store;
    this.clock = clock;
    this.intervalMs = intervalMs;
    this.batch = batch;
    this.logger = logger;
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /**
   * One pass: settles every user due now, a batch at a time, and returns how many. A pass
   * already running is joined, not doubled.
   */
  sweep(): Promise<number> {
    this.running ??= (async () => {
      let total = 0;
      try {
        for (;;) {
          const n = await this.store.sweepExpired(this.clock(), this.batch);
          total += n;
          if (n < this.batch || this.stopped) return total;
        }
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }

  private schedule() {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweep()
        .catch((err: unknown) => this.logger?.warn({ err }, 'expiry sweep failed; retrying next interval'))
        .finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }
}
