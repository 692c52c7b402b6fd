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
  /** attempts in flight per channel on this instance. @default 16 */
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
  const concurrency = opts.concurrency ?? 16;
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

  const finish = async (e: OutboxEntry, outcome: DeliveryOutcome) => {
    const d = await deliveries.finish(e, outcome, clock());
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

  const start = (e: OutboxEntry) => {
    inFlight.set(e.channel, inFlight.get(e.channel)! + 1);
    const p = attempt(e)
      .catch((err: unknown) => logger.warn({ err, delivery: e.deliveryId }, 'delivery attempt not recorded; it will be reclaimed'))
      .finally(() => {
        inFlight.set(e.channel, inFlight.get(e.channel)! - 1);
        running.delete(p);
        freed?.();
      });
    running.add(p);
  };

  const free = (c: ExternalChannel) => concurrency - inFlight.get(c)!;

  async function run() {
    while (active) {
      try {
        const now = clock();
        const { nextDueAt } = await deliveries.promoteDue(now, 1000);
        if (now - lastReclaim >= Math.min(reclaimIdleMs, 5000)) {
          lastReclaim = now;
          for (const c of EXTERNAL_CHANNELS) if (free(c) > 0) for (const e of await deliveries.reclaim(c, consumer, reclaimIdleMs, free(c))) start(e);
        }
        const open = EXTERNAL_CHANNELS.filter((c) => free(c) > 0);
        if (open.length === 0) {
          await new Promise<void>((resolve) => {
            freed = resolve;
            setTimeout(resolve, pollMs);
          });
          freed = null;
          continue;
        }
        // Wait for new work no longer than until the next due delivery (a retry, a throttle),
        // and only briefly while a channel is full: a read blocked on the others' streams
        // would leave its freed slots idle until it returns.
        let block = nextDueAt === null ? pollMs : Math.max(1, Math.min(pollMs, nextDueAt - clock()));
        if (open.length < EXTERNAL_CHANNELS.length) block = Math.min(block, SATURATED_POLL_MS);
        const got = await deliveries.take(open, consumer, Math.min(...open.map(free)), block);
        for (const e of got) start(e);
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
      await Promise.race([
        Promise.all([loop, ...running]),
        new Promise<void>((r) => {
          timer = setTimeout(r, timeout);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}
