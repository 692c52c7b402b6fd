/**
 * The live dashboard: `dashboardUpdated` over graphql-ws; every snapshot is a sample kept for an
 * hour in the page and charted. /metrics (Prometheus text, admin token) adds what the dashboard
 * does not carry, and says so when the server has none.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { DashboardUpdatedDocument, type DashboardFieldsFragment, type DashboardUpdatedSubscription } from '../../client/src/index';
import { Chart } from '../shared/chart';
import { message, payloadOf, switchToIds, wsClient } from '../shared/graphql';

export interface Sample {
  /** when it arrived, epoch ms */
  t: number;
  d: DashboardFieldsFragment;
}

const HOUR = 3_600_000;
const MINUTE = 60_000;
const STATUSES = ['PENDING', 'RETRYING', 'DELIVERED', 'FAILED', 'SKIPPED'] as const;

/** The dashboard stream as a list of the last hour's samples, and the connection's state. */
export function useDashboard(token: string) {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [state, setState] = useState<{ live: boolean; error: string | null }>({ live: false, error: null });
  /** bumped to subscribe again (with ids, after the server said it takes nothing else) */
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const client = wsClient(token, {
      connected: () => setState({ live: true, error: null }),
      closed: (e) => setState({ live: false, error: message(e) }),
    });
    const stop = client.subscribe<DashboardUpdatedSubscription>(
      payloadOf(DashboardUpdatedDocument),
      {
        next: (r) => {
          if (r.errors?.length) return setState({ live: false, error: message(r.errors) });
          const d = r.data?.dashboardUpdated;
          if (!d) return;
          const now = Date.now();
          setSamples((s) => [...s.filter((x) => x.t > now - HOUR), { t: now, d }]);
          setState({ live: true, error: null });
        },
        error: (e) => {
          const code = Array.isArray(e) ? (e[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code : undefined;
          if (switchToIds(code)) setAttempt((n) => n + 1);
          else setState({ live: false, error: message(e) });
        },
        complete: () => setState((s) => ({ ...s, live: false })),
      },
    );
    return () => {
      stop();
      void client.dispose();
    };
  }, [token, attempt]);
  return { samples, ...state };
}

/** Per type: what was sent in the minute before each sample (since the first sample, during the first minute). */
function perMinuteByType(samples: Sample[]): { types: string[]; series: (number | null)[][] } {
  const types = [...new Set(samples.flatMap((s) => s.d.notifications.byType.map((b) => b.type)))].sort();
  const count = (s: Sample, type: string) => s.d.notifications.byType.find((b) => b.type === type)?.count ?? 0;
  const series = types.map((type) =>
    samples.map((s, i) => {
      let j = 0;
      for (let k = i - 1; k >= 0; k--) if (samples[k]!.t <= s.t - MINUTE) {
        j = k;
        break;
      }
      // The day's counters start again at midnight UTC.
      const diff = count(s, type) - count(samples[j]!, type);
      return diff < 0 ? count(s, type) : diff;
    }),
  );
  return { types, series };
}

const mb = (b: number | null | undefined) => (b == null ? '–' : `${(b / 1048576).toFixed(1)} MB`);
const ms = (v: number | null | undefined) => (v == null ? '–' : `${v.toFixed(1)} ms`);

function Tile({ label, value, testId }: { label: string; value: string | number; testId: string }) {
  return (
    <div class="tile">
      <div class="label">{label}</div>
      <div class="value" data-testid={testId}>
        {value}
      </div>
    </div>
  );
}

export function DashboardView({ token, dash }: { token: string; dash: ReturnType<typeof useDashboard> }) {
  const { samples, live, error } = dash;
  const last = samples.at(-1)?.d;
  const charts = useMemo(() => {
    const xs = samples.map((s) => s.t / 1000);
    const rates = perMinuteByType(samples);
    return {
      rates: { series: rates.types, data: [xs, ...rates.series] },
      connections: [xs, samples.map((s) => s.d.system.connectedClients)],
      deliveries: [xs, ...STATUSES.map((st) => samples.map((s) => s.d.notifications.deliveriesByStatus.find((c) => c.status === st)?.count ?? 0))],
      redis: [xs, samples.map((s) => (s.d.system.redisUsedMemoryBytes == null ? null : s.d.system.redisUsedMemoryBytes / 1048576))],
      lag: [xs, samples.map((s) => s.d.system.eventLoopDelayMs ?? null)],
    };
  }, [samples]);
  const failed = last?.notifications.deliveriesByStatus.find((c) => c.status === 'FAILED')?.count ?? 0;

  return (
    <div>
      <div class="row" style={{ marginBottom: '0.6rem' }}>
        <span class={`status ${live ? 'live' : 'down'}`} data-testid="dashboard-status">
          {live ? 'live' : 'reconnecting…'}
        </span>
        <span class="muted">{last ? `updated ${new Date(last.generatedAt).toLocaleTimeString()}` : 'waiting for the first update…'}</span>
      </div>
      {error && !live && <div class="error">{error}</div>}
      {last && (
        <div class="tiles">
          <Tile label="sent today" value={last.notifications.sentToday} testId="sent-today" />
          <Tile label="active users" value={last.notifications.activeUsers} testId="active-users" />
          <Tile label="open connections" value={last.system.connectedClients} testId="connections" />
          <Tile label="dead letters" value={failed} testId="dead-letters" />
          <Tile label="Redis memory" value={last.system.redisUsedMemoryBytes == null ? 'in-memory backend' : mb(last.system.redisUsedMemoryBytes)} testId="redis-memory" />
          <Tile label="event-loop lag (max)" value={ms(last.system.eventLoopDelayMs)} testId="loop-lag" />
        </div>
      )}
      <div class="grid">
        <section class="card">
          <h2>Sent per minute, by type</h2>
          <p class="muted" style={{ margin: '0 0 0.4rem', fontSize: '0.8rem' }}>
            Sends and broadcasts (a broadcast counts each recipient); the first minute counts from page load.
          </p>
          {charts.rates.series.length ? <Chart series={charts.rates.series} data={charts.rates.data} testId="chart-rates" /> : <p class="muted">nothing sent today yet</p>}
        </section>
        <section class="card">
          <h2>Open connections</h2>
          <Chart series={['WebSocket + SSE']} data={charts.connections} testId="chart-connections" />
        </section>
        <section class="card">
          <h2>Deliveries by status</h2>
          <Chart series={[...STATUSES]} data={charts.deliveries} testId="chart-deliveries" />
        </section>
        <section class="card">
          <h2>Redis memory (MB)</h2>
          {last && last.system.redisUsedMemoryBytes == null ? (
            <p class="muted">The server runs on the in-memory backend: no Redis.</p>
          ) : (
            <Chart series={['used memory']} data={charts.redis} />
          )}
        </section>
        <section class="card">
          <h2>Event-loop lag (ms)</h2>
          <Chart series={['longest since last update']} data={charts.lag} />
        </section>
        <Metrics token={token} />
      </div>
    </div>
  );
}

/** The Prometheus samples worth a glance, when the server has /metrics (a labelled metric is summed). */
const count = (v: number) => String(Math.round(v));
const METRICS = [
  ['nodejs_eventloop_lag_p99_seconds', 'event-loop lag p99', (v: number) => `${(v * 1000).toFixed(1)} ms`],
  ['process_resident_memory_bytes', 'resident memory', (v: number) => mb(v)],
  ['ntf_graphql_subscriptions', 'live subscriptions', count],
  ['ntf_notifications_broadcasts_total', 'broadcasts since start', count],
  ['ntf_deliveries_total', 'delivery outcomes since start', count],
] as const;

/** The sum of a metric's samples in Prometheus text, or null when it has none. */
function sample(text: string, name: string): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name} `) || line.startsWith(`${name}{`))) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}

function Metrics({ token }: { token: string }) {
  const [state, setState] = useState<{ text?: string; note?: string; error?: string }>({});
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const res = await fetch('/metrics', { headers: { authorization: `Bearer ${token}` } });
        if (stopped) return;
        if (res.status === 404) setState({ note: 'Metrics not available: this server has no /metrics endpoint.' });
        else if (!res.ok) setState({ error: `/metrics answered HTTP ${res.status}` });
        else setState({ text: await res.text() });
      } catch (err) {
        if (!stopped) setState({ error: `/metrics: ${message(err)}` });
      }
    };
    void load();
    const timer = setInterval(load, 30_000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [token]);
  const values = state.text
    ? METRICS.flatMap(([name, label, fmt]) => {
        const v = sample(state.text!, name);
        return v === null ? [] : [[label, fmt(v)] as const];
      })
    : [];
  return (
    <section class="card" data-testid="metrics">
      <h2>From /metrics</h2>
      {state.note && <p class="muted">{state.note}</p>}
      {state.error && <div class="error">{state.error}</div>}
      {state.text !== undefined && values.length === 0 && <p class="muted">/metrics has none of the samples shown here.</p>}
      {values.length > 0 && (
        <table data-testid="metrics-values">
          <tbody>
            {values.map(([label, v]) => (
              <tr key={label} data-metric={label}>
                <td>{label}</td>
                <td class="value">{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
