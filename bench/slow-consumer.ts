/**
 * `npm run bench -- slow-consumer`: what one client that stops reading costs the others.
 *
 * H healthy WebSocket subscribers of one topic get paced messages of 4 KB; publish -> receipt
 * p50/p99 over the healthy ones, first alone, then with one more subscriber beside them whose
 * socket stops reading (it answers nothing, reads nothing). With MAX_BUFFERED_BYTES the slow
 * one is closed (4008) once its backlog is above the bound and not shrinking; the figures show
 * when, and the server's RSS.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { TOPIC_SUB, connectMany, pacedSends, percentile, trackTopic, warmUpTopic } from './ws-load.js';
import { intOption, int, ms, section, type Scenario } from './scenario.js';
import { startServer } from './server-process.js';

const PUBLISH = 'mutation($p:JSON!){ publish(topic:"bench", payload:$p){ publishedAt } }';

export const slowConsumerScenario: Scenario = {
  name: 'slow-consumer',
  summary: 'paced p99 of healthy subscribers with and without one that stops reading',
  options: {
    subscribers: { type: 'int', description: 'healthy topic subscribers', default: 200 },
    rate: { type: 'int', description: 'messages/s (each to every subscriber)', default: 50 },
    'paced-seconds': { type: 'int', description: 'length of each paced run (the slow one fills the kernel buffers, ~4 MB, before its backlog counts)', default: 30 },
    'payload-bytes': { type: 'int', description: 'size of each message', default: 4096 },
  },
  async run({ redis, options }) {
    const H = intOption(options, 'subscribers', 200);
    const rate = intOption(options, 'rate', 50);
    const pacedSeconds = intOption(options, 'paced-seconds', 30);
    const size = intOption(options, 'payload-bytes', 4096);
    const server = await startServer(redis, redis.prefix, { WS_KEEPALIVE_MS: '600000' });
    try {
      const svc = await server.token('bench-publisher', ['service']);
      const sockets = await connectMany(H, server.ws, (i) => server.token(`h${i}`));
      const [publisher] = await connectMany(1, server.ws, () => svc);
      const topic = trackTopic(sockets);
      const pad = 'x'.repeat(size);
      const publish = (p: unknown) => publisher!.request(PUBLISH, { p });
      const warmUp = () => warmUpTopic(topic, H, (i) => publish({ i, pad: '' }));
      let base = 0;
      const pacedRun = async () => {
        topic.latencies = [];
        topic.delivered = 0;
        const total = rate * pacedSeconds;
        const from = base;
        base += total;
        const rss0 = server.rssBytes();
        let rssPeak = rss0;
        const start = await pacedSends(rate, total, (k, now) => {
          topic.sentAt.set(from + k, now);
          void publish({ i: from + k, pad });
          if (k % rate === 0) rssPeak = Math.max(rssPeak, server.rssBytes());
        });
        while (topic.delivered < total * H && performance.now() - start < pacedSeconds * 1000 + 30_000) await new Promise((r) => setTimeout(r, 5));
        const latencies = topic.latencies.sort((a, b) => a - b);
        return { total, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN, rssGrowth: Math.max(rssPeak, server.rssBytes()) - rss0 };
      };
      const rows = (r: Awaited<ReturnType<typeof pacedRun>>): [string, string][] => [
        ['delivered / expected (healthy)', `${int(topic.delivered)} / ${int(r.total * H)}`],
        ['publish -> receipt p50', ms(r.p50)],
        ['publish -> receipt p99', ms(r.p99)],
        ['publish -> receipt max', ms(r.max)],
        ['server RSS growth (peak)', `${(r.rssGrowth / 1048576).toFixed(1)} MiB`],
      ];

      await warmUp();
      const alone = await pacedRun();
      section(`1. ${int(H)} healthy subscribers, ${rate} messages/s of ${int(size)} B for ${pacedSeconds} s`, rows(alone));

      // One more subscriber that stops reading once subscribed.
      const slow = new WebSocket(server.ws, 'graphql-transport-ws', { perMessageDeflate: false });
      let closedAt = NaN;
      let closeCode = 0;
      const slowStart = performance.now();
      slow.on('close', (code) => ((closeCode = code), (closedAt = performance.now())));
      await new Promise<void>((resolve, reject) => {
        slow.once('error', reject);
        slow.on('open', async () => slow.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await server.token('slow')}` } })));
        slow.on('message', (d) => {
          const m = JSON.parse(String(d)) as { type: string };
          if (m.type !== 'connection_ack') return;
          slow.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: TOPIC_SUB, variables: { n: ['bench'] } } }));
          slow.removeAllListeners('message');
          resolve();
        });
      });
      topic.warm = 0;
      await warmUp();
      slow.pause();
      const withSlow = await pacedRun();
      // What the server did with it: a paused client sees the close once it reads again.
      slow.resume();
      await new Promise((r) => setTimeout(r, 1000));
      section(`2. the same with one subscriber beside them that stops reading`, [
        ...rows(withSlow),
        ['slow subscriber', Number.isNaN(closedAt) ? 'still open' : `closed with ${closeCode} (seen ${((closedAt - slowStart) / 1000).toFixed(1)} s after it connected)`],
      ]);
      for (const s of sockets) s.close();
      publisher!.close();
      slow.terminate();
    } finally {
      await server.stop();
    }
  },
};
