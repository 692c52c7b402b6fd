import type { Logger } from 'pino';
import { decodeItem } from '../store/codec.js';
import { SKIP, type Delivery } from '../store/deliveries.js';
import { retryDelay, type RetryPolicy } from './backoff.js';
import type { Notification } from '../notifications/types.js';
import { isOpen, type DeliveryOutcome, type DeliveryStore, type OutboxEntry } from '../store/delivery-store.js';
import { EXTERNAL_CHANNELS, type ExternalChannel, type Provider, type SendResult } from './provider.js';
import { renderMessage, type JsonValue } from './render.js';
import type { Throttle } from './throttle.js';

export interface OutboxOptions {
  deliveries: DeliveryStore;
  /** the notification as its recipient's inbox holds it now (null: gone): the escalation check */
  inboxItem: (userId: string, notificationId: string) => Promise<Notification | null>;
  providers: { get(channel: ExternalChannel): Provider | undefined };
  throttle: Throttle;
  retry: RetryPolicy;
  /** this instance's consumer name in the group: unique per running instance */
  consumer: string;
  logger: Logger;
  clock?: () => number;
  /** attempts in flight per channel on this instance. @default 64 */
  concurrency?: number;
  /** one attempt's bound (connect, response). @default 10000 */
  timeoutMs?: number;
  /** an entry taken by a consumer that has not finished it for this long is reclaimed (it died). @default 60000 */
  reclaimIdleMs?: number;
  /** longest wait for new work in one read; due deliveries are promoted at least this often. @default 500 */
  pollMs?: number;
  /** each recorded outcome, for metrics */
  onOutcome?: (d: Delivery) => void;
}

export interface Outbox {
  start(): void;
  /** Stops taking work and waits (up to `timeoutMs`) for attempts in flight. */
  stop(timeoutMs?: number): Promise<void>;
}

/** How long a read for new work may block while some channel has no free slot. */
const SATURATED_POLL_MS = 5;

const idleDeliveryError = (channel: ExternalChannel) =>
  `${channel} is not configured on this server (${channel === 'TELEGRAM' ? 'TELEGRAM_BOT_TOKEN' : channel} missing)`;

/**
 * The outbox worker of one instance: promotes due deliveries, takes ready ones from the shared
 * queue (each taken by one instance), sends them through their provider, records the outcome.
 * Each channel has its own budget of attempts in flight, and every attempt is bounded in time,
 * so a slow or dead provider neither delays another channel nor grows memory; the inbox and
 * the subscriptions never wait on it.
 */
export function createOutbox(opts: OutboxOptions): Outbox {
  const { deliveries, inboxItem, providers, throttle, retry, consumer, logger, clock = Date.now, onOutcome } = opts;
  const concurrency = opts.concurrency ?? 64;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const reclaimIdleMs = opts.reclaimIdleMs ?? 60_000;
  const pollMs = opts.pollMs ?? 500;
  const inFlight = new Map<ExternalChannel, number>(EXTERNAL_CHANNELS.map((c) => [c, 0]));
  const running = new Set<Promise<void>>();
  let active = false;
  let loop: Promise<void> | null = null;
  let freed: (() => void) | null = null;
  let lastReclaim = 0;
  let lastError = '';

  /** when the earliest due delivery this instance knows of falls due (null: none) */
  let nextDueAt: number | null = null;
  const finish = async (e: OutboxEntry, outcome: DeliveryOutcome) => {
    const d = await deliveries.finish(e, outcome, clock());
    if (d?.nextAttemptAt != null && (nextDueAt === null || d.nextAttemptAt < nextDueAt)) nextDueAt = d.nextAttemptAt;
    if (d) onOutcome?.(d);
  };

  const outcomeOf = (d: Delivery, r: SendResult, now: number): DeliveryOutcome => {
    if (r.kind === 'ok') return { kind: 'delivered' };
    if (r.kind === 'fail') return { kind: 'failed', error: r.error };
    return { kind: 'retry', error: r.error, maxAttempts: retry.maxAttempts, nextAttemptAt: now + retryDelay(retry, d.attempts + 1, r.retryAfterMs) };
  };

  async function attempt(e: OutboxEntry): Promise<void> {
    const [d] = await deliveries.get([e.deliveryId]);
    // Finished meanwhile (a reclaimed duplicate, a retry): finish only releases the entry.
    if (!d || !isOpen(d.status)) return void (await deliveries.finish(e, { kind: 'skipped', reason: '' }, clock()));
    if (d.escalate && d.attempts === 0) {
      const n = await inboxItem(d.userId, d.notificationId);
      if (!n) return finish(e, { kind: 'skipped', reason: SKIP.gone });
      if (n.readAt !== null) return finish(e, { kind: 'skipped', reason: SKIP.read });
    }
    const address = (await deliveries.addresses(d.userId)).find((a) => a.channel === d.channel);
    if (!address) return finish(e, { kind: 'skipped', reason: SKIP.noAddress });
    const provider = providers.get(d.channel);
    if (!provider) return finish(e, { kind: 'failed', error: idleDeliveryError(d.channel) });
    const permit = await throttle.acquire(d.channel, address.address);
    if ('waitMs' in permit) return finish(e, { kind: 'defer', nextAttemptAt: clock() + permit.waitMs });
    const n = decodeItem(d.userId, d.notificationId, d.content, '');
    const message = renderMessage(d.id, { ...n, data: (n.data ?? null) as JsonValue }, clock());
    let result: SendResult;
    try {
      result = await provider.send({ address: address.address, secret: address.secret ?? undefined }, message, AbortSignal.timeout(timeoutMs));
    } catch (err) {
      // Providers report errors as results; a throw is a bug there, not the receiver's fault.
      logger.error({ err, channel: d.channel }, 'delivery provider threw');
      result = { kind: 'retry', error: 'internal error in the provider' };
    } finally {
      permit.release();
    }
    await finish(e, outcomeOf(d, result, clock()));
  }

  /**
   * Entries read ahead per channel, at most `concurrency` of them: a slot that frees starts the
   * next one at once, without waiting for a read. They are this consumer's (pending) like the
   * ones in flight, and reclaimed like them if the instance dies.
   */
  const buffered = new Map<ExternalChannel, OutboxEntry[]>(EXTERNAL_CHANNELS.map((c) => [c, []]));

  const startNext = (c: ExternalChannel) => {
    if (!active) return;
    const queue = buffered.get(c)!;
    while (inFlight.get(c)! < concurrency && queue.length > 0) {
      const e = queue.shift()!;
      inFlight.set(c, inFlight.get(c)! + 1);
      const p = attempt(e)
        .catch((err: unknown) => logger.warn({ err, delivery: e.deliveryId }, 'delivery attempt not recorded; it will be reclaimed'))
        .finally(() => {
          inFlight.set(c, inFlight.get(c)! - 1);
          running.delete(p);
          startNext(c);
          freed?.();
        });
      running.add(p);
    }
  };
  const accept = (entries: OutboxEntry[]) => {
    for (const e of entries) buffered.get(e.channel)!.push(e);
    for (const c of EXTERNAL_CHANNELS) startNext(c);
  };

  /** Room for more work: in flight plus read ahead stays within twice the concurrency. */
  const room = (c: ExternalChannel) => 2 * concurrency - inFlight.get(c)! - buffered.get(c)!.length;
  /** Reads come in batches: a channel is read again once half its room is free. */
  const wants = (c: ExternalChannel) => room(c) >= concurrency;

  async function run() {
    let lastPromote = -Infinity;
    while (active) {
      try {
        const now = clock();
        // Due deliveries (escalations, retries, throttled ones) are promoted when the earliest
        // falls due, and at least every poll for those another instance queued.
        if (now - lastPromote >= pollMs || (nextDueAt !== null && nextDueAt <= now)) {
          ({ nextDueAt } = await deliveries.promoteDue(now, 1000));
          lastPromote = now;
        }
        if (now - lastReclaim >= Math.min(reclaimIdleMs, 5000)) {
          lastReclaim = now;
          for (const c of EXTERNAL_CHANNELS) if (room(c) > 0) accept(await deliveries.reclaim(c, consumer, reclaimIdleMs, room(c)));
        }
        const open = EXTERNAL_CHANNELS.filter(wants);
        if (open.length === 0) {
          await new Promise<void>((resolve) => {
            freed = resolve;
            setTimeout(resolve, Math.min(pollMs, SATURATED_POLL_MS * 10));
          });
          freed = null;
          continue;
        }
        // Wait for new work no longer than until the next due delivery or the next poll, and
        // only briefly while a channel has no room: a read blocked on the others' streams would
        // leave its freed room unused until it returns.
        let block = Math.max(1, Math.min(pollMs, (nextDueAt ?? Infinity) - clock(), lastPromote + pollMs - clock()));
        if (open.length < EXTERNAL_CHANNELS.length) block = Math.min(block, SATURATED_POLL_MS);
        accept(await deliveries.take(open, consumer, Math.min(...open.map(room)), block));
        if (lastError) {
          logger.info('delivery outbox recovered');
          lastError = '';
        }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (message !== lastError) logger.warn({ err: message }, 'delivery outbox cannot reach its store; retrying');
        lastError = message;
        await new Promise((r) => setTimeout(r, Math.min(1000, pollMs * 2)));
      }
    }
  }

  return {
    start() {
      if (active) return;
      active = true;
      loop = run();
    },
    async stop(timeout = 5000) {
      active = false;
      freed?.();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((r) => {
        timer = setTimeout(r, timeout);
      });
      await Promise.race([loop, deadline]);
      // What was read ahead but not started goes back as due now, for the other instances.
      const left = EXTERNAL_CHANNELS.flatMap((c) => buffered.get(c)!.splice(0));
      const back = Promise.all(left.map((e) => deliveries.finish(e, { kind: 'defer', nextAttemptAt: clock() }, clock()).catch(() => undefined)));
      await Promise.race([Promise.all([back, ...running]), deadline]);
      clearTimeout(timer);
    },
  };
}
