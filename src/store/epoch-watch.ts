import type { Logger } from 'pino';
import type { AdminStore } from './admin-store.js';

/**
 * What this process noticed of lost data sets, for metrics: read it, or pass `onLoss`.
 * `losses` counts the times the backend's epoch changed while the server ran.
 */
export const dataLoss = { losses: 0, lastAt: null as number | null };

export interface EpochWatchOptions {
  store: Pick<AdminStore, 'epoch'>;
  logger: Logger;
  /** How often the epoch is read. @default 1000 */
  intervalMs?: number;
  /** Called once per loss noticed, after the log line (a metrics counter, an alert). */
  onLoss?: (loss: { previous: number; epoch: number }) => void;
}

/**
 * Notices that Redis lost its data while the server runs (restarted empty, wiped): the data
 * set's epoch marker (Store.epoch, ids.lua ensureEpoch) is read at start and every second, and
 * a new value means a new data set. Nothing else needs doing: ids already continue above the
 * old ones, and resumes from before the new epoch answer replayComplete false. A read that
 * fails (Redis away) is skipped.
 */
export class EpochWatch {
  private known: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;

  constructor(private readonly opts: EpochWatchOptions) {}

  start(): void {
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the epoch once (one read at a time); resolves when done. */
  check(): Promise<void> {
    this.running ??= this.read().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async read(): Promise<void> {
    let epoch: number;
    try {
      epoch = await this.opts.store.epoch();
    } catch {
      return;
    }
    const previous = this.known;
    this.known = epoch;
    if (previous === null || previous === epoch) return;
    dataLoss.losses += 1;
    dataLoss.lastAt = Date.now();
    this.opts.logger.error(
      { previous, epoch },
      'the store lost its data (Redis restarted empty or was wiped): serving on; new ids stay above the old ones, and resumes from before now answer replayComplete false',
    );
    this.opts.onLoss?.({ previous, epoch });
  }
}
