import { describe, expect, it } from 'vitest';
import { NotificationReceivedSubscription, SendNotificationMutation } from '../src/client/operations.js';
import { SERVICE, useTestApp } from './helpers/app.js';
import { subscribe, wsClient } from './helpers/ws.js';

const TOTAL = 2000;
const SEND_INTERVAL_MS = 5; // ~200/s
const DROP_EVERY_MS = 100;

describe('reconnect churn (redis, two instances)', () => {
  const t = useTestApp('redis', { clock: 'real' });

  it('a client that drops and resumes every ~100 ms ends with all 2 000 notifications, in order, once each', { timeout: 60_000 }, async () => {
    const urls = [await t(0).listen(), await t(1).listen()];
    const token = await t(0).token('churner');
    const received: string[] = [];
    // The cursor the client starts from: everything after it counts.
    const start = await t(0).run(SendNotificationMutation, { input: { userIds: ['churner'], type: 'task_assigned', title: 'start', body: '' } }, SERVICE);
    let lastId: string | null = start.data!.sendNotification.notifications[0]!.id;
    let sending = true;

    const sender = (async () => {
      const start = Date.now();
      for (let i = 0; i < TOTAL; i++) {
        // Paced by the clock, not by the round trip, and sent through both instances.
        const due = start + i * SEND_INTERVAL_MS;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        const r = await t(i % 2).run(SendNotificationMutation, { input: { userIds: ['churner'], type: 'task_assigned', title: `n${i}`, body: '' } }, SERVICE);
        if (r.errors) throw new Error(JSON.stringify(r.errors));
      }
      sending = false;
    })();

    let session = 0;
    let sentAt = 0;
    void sender.then(() => (sentAt = Date.now()));
    let reconnects = 0;
    while (sending || received.length < TOTAL) {
      // Alternate instances: every resume lands on the other one.
      const { client } = wsClient(urls[session++ % 2]!.ws, token);
      const feed = subscribe(client, NotificationReceivedSubscription, { after: lastId });
      const take = () => {
        for (const r of feed.results.splice(0)) {
          const n = r.data!.notificationReceived;
          received.push(n.title);
          lastId = n.id;
        }
      };
      const until = Date.now() + (sending ? DROP_EVERY_MS : 1000);
      while (Date.now() < until && (sending || received.length < TOTAL)) {
        await new Promise((r) => setTimeout(r, 5));
        take();
      }
      await client.dispose();
      take();
      reconnects++;
      // Everything sent is stored: a few quiet seconds after the last send nothing more can come.
      if (!sending && sentAt && Date.now() - sentAt > 3000) break;
    }
    await sender;

    expect(reconnects).toBeGreaterThan(50);
    expect(received.length).toBe(TOTAL);
    expect(new Set(received).size).toBe(TOTAL);
    expect(received).toEqual(Array.from({ length: TOTAL }, (_, i) => `n${i}`));
  });
});
