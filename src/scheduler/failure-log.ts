/**
 * How often a job's failures reach the log. A frequent job (deliver-scheduled runs every second)
 * fails on every tick while Redis is down: the first failure is logged, the same failure
 * again at most once per `everyMs` with the number left out meanwhile, and the recovery once.
 */
export class FailureLog {
  private readonly jobs = new Map<string, { status: string; since: number; loggedAt: number; unlogged: number; failures: number }>();

  constructor(
    private readonly clock: () => number,
    private readonly everyMs = 60_000,
  ) {}

  /** A failed run: null to leave it out of the log, else how many like it were left out since the last line. */
  failed(job: string, status: string): { unlogged: number } | null {
    const now = this.clock();
    const s = this.jobs.get(job);
    if (s && s.status === status && now - s.loggedAt < this.everyMs) {
      s.unlogged++;
      s.failures++;
      return null;
    }
    this.jobs.set(job, { status, since: s?.since ?? now, loggedAt: now, unlogged: 0, failures: (s?.failures ?? 0) + 1 });
    return { unlogged: s?.unlogged ?? 0 };
  }

  /** A run that went well: the failed runs before it and since when, if there were any. */
  succeeded(job: string): { failures: number; sinceMs: number } | null {
    const s = this.jobs.get(job);
    if (!s) return null;
    this.jobs.delete(job);
    return { failures: s.failures, sinceMs: this.clock() - s.since };
  }
}
