/**
 * The inbox stream's two fallbacks, with the faults injected into the store it is given (memory
 * backend, in-process): a sync event that never arrives, and a touch that fails.
 */
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../src/backend.js';
import { NotificationService } from '../src/notifications/service.js';
import { HOLD_TIMEOUT_MS, SYNC_TIMEOUT_MS, type InboxEvent } from '../src/realtime/inbox-stream.js';
import { Realtime } from '../src/realtime/realtime.js';
import type { Store } from '../src/store/store.js';

function setup(fault: (store: Store) => Partial<Store>) {
  const { store, bus, channels } = memoryBackend({ cap: 10 });
  const faulty: Store = { ...store, ...fault(store) };
  const service = new NotificationService(faulty);
  return { store, service, realtime: new Realtime({ bus, channels, service }) };
}

const content = (title: string) => {
  const now = Date.now();
  return { type: 'news', title, body: '', data: null, priority: 'NORMAL' as const, createdAt: now, expiresAt: now + 60_000 };
};

const brief = (e: InboxEvent) => ({ n: e.notification?.title ?? null, count: e.unreadCount, complete: e.replayComplete });

describe('inbox stream fallbacks', () => {
  it(`goes live with replayComplete false when its sync event never arrives (after ${SYNC_TIMEOUT_MS} ms)`, async () => {
    // the snapshot publishes someone else's token: as if pub/sub lost ours
    const { store, realtime } = setup((s) => ({ inboxSnapshot: (u, a, _token, now) => s.inboxSnapshot(u, a, 'lost', now) }));
    const [a] = await store.send(['u'], { content: content('a'), dedupWindowMs: 0 }, Date.now());
    await store.send(['u'], { content: content('b'), dedupWindowMs: 0 }, Date.now());
    const q = realtime.inbox('u', a!.status === 'stored' ? a!.notification.id : '', {});
    const started = Date.now();
    const first = await q.next();
    const second = await q.next();
    expect(Date.now() - started).toBeGreaterThanOrEqual(SYNC_TIMEOUT_MS - 50);
    expect([brief(first.value as InboxEvent), brief(second.value as InboxEvent)]).toEqual([
      { n: 'b', count: 2, complete: null },
      { n: null, count: 2, complete: false },
    ]);
    await store.send(['u'], { content: content('c'), dedupWindowMs: 0 }, Date.now());
    expect(brief((await q.next()).value as InboxEvent)).toEqual({ n: 'c', count: 3, complete: null });
    await q.return();
  }, SYNC_TIMEOUT_MS + 5000);

  it(`sends a broadcast with the last known count when the touch that settles it fails (after ${HOLD_TIMEOUT_MS} ms)`, async () => {
    const { store, realtime } = setup(() => ({ unreadCounts: () => Promise.reject(new Error('store down')) }));
    await store.ensureUser('u', Date.now());
    await store.send(['u'], { content: content('a'), dedupWindowMs: 0 }, Date.now());
    const q = realtime.inbox('u', null, {});
    expect(brief((await q.next()).value as InboxEvent)).toEqual({ n: null, count: 1, complete: null });
    await store.broadcast({ content: content('all'), dedupWindowMs: 0, saveOffline: true }, Date.now());
    const started = Date.now();
    expect(brief((await q.next()).value as InboxEvent)).toEqual({ n: 'all', count: 1, complete: null });
    expect(Date.now() - started).toBeGreaterThanOrEqual(HOLD_TIMEOUT_MS - 50);
    await q.return();
  }, HOLD_TIMEOUT_MS + 5000);
});
