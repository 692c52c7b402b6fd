/**
 * Open connections per user on this instance (config MAX_CONNECTIONS_PER_USER): WebSockets
 * and SSE streams together, counted by the token's subject.
 */
export class UserConnections {
  private readonly open = new Map<string, number>();

  /** @param max - connections per user, at least 1 */
  constructor(readonly max: number) {}

  /** Takes a slot for `sub`; the returned function gives it back (once). null: `sub` has `max` open. */
  take(sub: string): (() => void) | null {
    const n = this.open.get(sub) ?? 0;
    if (n >= this.max) return null;
    this.open.set(sub, n + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = (this.open.get(sub) ?? 1) - 1;
      if (left > 0) this.open.set(sub, left);
      else this.open.delete(sub);
    };
  }
}
