/** When a failed delivery is tried again (docs/channels.md "The outbox"). */

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  maxAttempts: number;
}

/**
 * Exponential backoff with full jitter: a random wait in [0, min(max, base * 2^(attempt-1))]
 * (attempt = attempts made so far, >= 1), never earlier than the provider asked.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterMs = 0, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.max(retryAfterMs, Math.floor(random() * ceiling));
}
