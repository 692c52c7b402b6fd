/** The console's other tabs: jobs, dead letters, sending, one user. */
import { useEffect, useState } from 'preact/hooks';
import {
  BroadcastDocument,
  DeliveryLogDocument,
  JobsDocument,
  PublishDocument,
  RetryDeliveryDocument,
  RunJobDocument,
  SendNotificationDocument,
  UserDetailDocument,
  type DeliveryFieldsFragment,
  type JobFieldsFragment,
  type UserDetailQuery,
} from '../../client/src/index';
import { gql, message } from '../shared/graphql';

const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '–');

/** Runs an action, keeping "busy", the error and a success note for the UI. */
function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const run = async (fn: () => Promise<string | void>) => {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      const n = await fn();
      if (n) setNote(n);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  const Feedback = () => (
    <>
      {error && (
        <div class="error" role="alert">
          {error}
        </div>
      )}
      {note && (
        <div class="ok" role="status">
          {note}
        </div>
      )}
    </>
  );
  return { busy, run, Feedback };
}

export function JobsView({ token }: { token: string }) {
  const [jobs, setJobs] = useState<JobFieldsFragment[] | null>(null);
  const { busy, run, Feedback } = useAction();
  const load = () => run(async () => setJobs((await gql(token, JobsDocument, {})).jobs));
  useEffect(() => void load(), [token]);
  return (
    <section class="card">
      <div class="row" style={{ justifyContent: 'space-between' }}>
        <h2>Jobs</h2>
        <button class="secondary" disabled={busy} onClick={load}>
          Refresh
        </button>
      </div>
      <Feedback />
      {jobs && jobs.length === 0 && <p class="muted">This server runs no scheduler.</p>}
      {jobs && jobs.length > 0 && (
        <div class="scroll">
          <table data-testid="jobs">
            <thead>
              <tr>
                <th>job</th>
                <th>schedule</th>
                <th>last run</th>
                <th>status</th>
                <th>next run</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.name} data-job={j.name}>
                  <td>
                    <code>{j.name}</code>
                  </td>
                  <td>
                    <code>{j.schedule}</code>
                    {j.timezone && <span class="muted"> {j.timezone}</span>}
                  </td>
                  <td>{when(j.lastRunAt)}</td>
                  <td data-testid="job-status">{j.lastStatus ?? 'never run'}</td>
                  <td>{when(j.nextRunAt)}</td>
                  <td>
                    <button
                      class="primary"
                      disabled={busy}
                      onClick={() =>
                        run(async () => {
                          const r = (await gql(token, RunJobDocument, { name: j.name })).runJob;
                          setJobs((js) => js?.map((x) => (x.name === r.name ? r : x)) ?? null);
                          return `${r.name}: ${r.lastStatus ?? 'started'}`;
                        })
                      }
                    >
                      Run now
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function DeliveryTable({ rows, onRetry, busy }: { rows: DeliveryFieldsFragment[]; onRetry?: (d: DeliveryFieldsFragment) => void; busy?: boolean }) {
  return (
    <div class="scroll">
      <table data-testid="deliveries">
        <thead>
          <tr>
            <th>delivery</th>
            <th>user</th>
            <th>channel</th>
            <th>status</th>
            <th>attempts</th>
            <th>last error</th>
            <th>created</th>
            {onRetry && <th />}
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.id} data-delivery={d.id}>
              <td>
                <code>{d.id}</code>
              </td>
              <td>{d.userId}</td>
              <td>{d.channel}</td>
              <td>{d.status}</td>
              <td>{d.attempts}</td>
              <td class="last-error">{d.lastError ?? '–'}</td>
              <td>{when(d.createdAt)}</td>
              {onRetry && (
                <td>
                  <button class="primary" disabled={busy} onClick={() => onRetry(d)}>
                    Retry
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function DeliveriesView({ token }: { token: string }) {
  const [rows, setRows] = useState<DeliveryFieldsFragment[] | null>(null);
  const [total, setTotal] = useState(0);
  const { busy, run, Feedback } = useAction();
  const fetchRows = async () => {
    const log = (await gql(token, DeliveryLogDocument, { first: 50, filter: { status: ['FAILED'] } })).deliveryLog;
    setRows(log.edges.map((e) => e.node));
    setTotal(log.totalCount);
  };
  useEffect(() => void run(fetchRows), [token]);
  return (
    <section class="card">
      <div class="row" style={{ justifyContent: 'space-between' }}>
        <h2>Dead letters</h2>
        <button class="secondary" disabled={busy} onClick={() => run(fetchRows)}>
          Refresh
        </button>
      </div>
      <p class="muted">Deliveries that failed for good (status FAILED), newest first{rows ? `: ${total}` : ''}.</p>
      <Feedback />
      {rows && rows.length === 0 && <p class="muted">No dead letters.</p>}
      {rows && rows.length > 0 && (
        <DeliveryTable
          rows={rows}
          busy={busy}
          onRetry={(d) =>
            run(async () => {
              const r = (await gql(token, RetryDeliveryDocument, { id: d.id })).retryDelivery;
              await fetchRows();
              return `Delivery ${r.id} queued again (${r.status}).`;
            })
          }
        />
      )}
    </section>
  );
}

const form = (e: Event) => {
  e.preventDefault();
  return new FormData(e.currentTarget as HTMLFormElement);
};
/** Pre-fills an uncontrolled field once (a `value` prop would reset what the operator typed on every render). */
const init = (v: string) => (el: HTMLInputElement | HTMLTextAreaElement | null) => {
  if (el && !el.dataset['init']) {
    el.value = v;
    el.dataset['init'] = '1';
  }
};
const str = (f: FormData, k: string) => String(f.get(k) ?? '').trim();

export function SendView({ token, activeUsers }: { token: string; activeUsers: number | null }) {
  const one = useAction();
  const all = useAction();
  const topic = useAction();
  const [pending, setPending] = useState<{ type: string; title: string; body: string } | null>(null);
  return (
    <div class="grid">
      <section class="card">
        <h2>Test notification</h2>
        <form
          class="stack"
          data-testid="send-form"
          onSubmit={(e) => {
            const f = form(e);
            void one.run(async () => {
              const r = (
                await gql(token, SendNotificationDocument, {
                  input: { userIds: [str(f, 'userId')], type: str(f, 'type'), title: str(f, 'title'), body: str(f, 'body') },
                })
              ).sendNotification;
              if (r.notifications.length) return `Sent ${r.notifications.map((n) => n.id).join(', ')}.`;
              return `Not stored: ${r.muted.length ? 'muted by the user' : r.deduplicated.length ? 'deduplicated' : 'no recipient'}.`;
            });
          }}
        >
          <label>
            user id
            <input name="userId" required placeholder="alice" />
          </label>
          <label>
            type
            <input name="type" required ref={init('system_announcement')} />
          </label>
          <label>
            title
            <input name="title" required ref={init('Test notification')} />
          </label>
          <label>
            body
            <textarea name="body" rows={2} ref={init('Sent from the console.')} />
          </label>
          <div>
            <button class="primary" disabled={one.busy}>
              Send
            </button>
          </div>
          <one.Feedback />
        </form>
      </section>
      <section class="card">
        <h2>Broadcast</h2>
        <form
          class="stack"
          data-testid="broadcast-form"
          onSubmit={(e) => {
            const f = form(e);
            setPending({ type: str(f, 'type'), title: str(f, 'title'), body: str(f, 'body') });
          }}
        >
          <label>
            type
            <input name="type" required ref={init('system_announcement')} />
          </label>
          <label>
            title
            <input name="title" required />
          </label>
          <label>
            body
            <textarea name="body" rows={2} />
          </label>
          <div>
            <button class="primary" disabled={all.busy || pending !== null}>
              Broadcast…
            </button>
          </div>
        </form>
        {pending && (
          <div class="confirm" role="alertdialog" data-testid="broadcast-confirm">
            <p style={{ margin: '0 0 0.5rem' }}>
              Broadcast “{pending.title}” to every active user: <strong>{activeUsers ?? 'unknown'}</strong> now (users who muted {pending.type} are counted
              here but will not get it).
            </p>
            <div class="row">
              <button
                class="primary"
                disabled={all.busy}
                onClick={() =>
                  void all.run(async () => {
                    const r = (await gql(token, BroadcastDocument, { input: pending })).broadcast;
                    setPending(null);
                    return `Broadcast ${r.id} to ${r.recipients} recipients.`;
                  })
                }
              >
                Confirm broadcast
              </button>
              <button class="secondary" onClick={() => setPending(null)}>
                Cancel
              </button>
            </div>
          </div>
        )}
        <all.Feedback />
      </section>
      <section class="card">
        <h2>Topic event</h2>
        <form
          class="stack"
          onSubmit={(e) => {
            const f = form(e);
            void topic.run(async () => {
              let payload: unknown;
              try {
                payload = JSON.parse(str(f, 'payload') || 'null');
              } catch {
                throw new Error('payload is not valid JSON');
              }
              const r = (await gql(token, PublishDocument, { topic: str(f, 'topic'), payload })).publish;
              return `Published on ${r.topic} at ${when(r.publishedAt)}.`;
            });
          }}
        >
          <label>
            topic
            <input name="topic" required placeholder="orders" />
          </label>
          <label>
            payload (JSON)
            <textarea name="payload" rows={3} ref={init('{"hello": "world"}')} />
          </label>
          <div>
            <button class="primary" disabled={topic.busy}>
              Publish
            </button>
          </div>
          <topic.Feedback />
        </form>
      </section>
    </div>
  );
}

export function UserView({ token }: { token: string }) {
  const [data, setData] = useState<UserDetailQuery | null>(null);
  const { busy, run, Feedback } = useAction();
  const u = data?.user;
  return (
    <section class="card">
      <h2>User</h2>
      <form
        class="row"
        onSubmit={(e) => {
          const id = str(form(e), 'id');
          void run(async () => {
            const r = await gql(token, UserDetailDocument, { id });
            setData(r);
            if (!r.user) throw new Error(`no user ${id}`);
          });
        }}
      >
        <input name="id" required placeholder="user id" style={{ maxWidth: '260px' }} />
        <button class="primary" disabled={busy}>
          Look up
        </button>
      </form>
      <Feedback />
      {u && (
        <div data-testid="user">
          <div class="tiles" style={{ marginTop: '0.8rem' }}>
            <div class="tile">
              <div class="label">unread</div>
              <div class="value" data-testid="user-unread">
                {u.unreadCount}
              </div>
            </div>
            <div class="tile">
              <div class="label">active</div>
              <div class="value">{u.active ? 'yes' : 'no'}</div>
            </div>
            <div class="tile">
              <div class="label">since</div>
              <div class="value" style={{ fontSize: '1rem' }}>
                {when(u.createdAt)}
              </div>
            </div>
          </div>
          <h3>Preferences</h3>
          <p>muted types: {u.preferences.mutedTypes.length ? u.preferences.mutedTypes.join(', ') : 'none'}</p>
          {u.preferences.channels.length > 0 && (
            <ul>
              {u.preferences.channels.map((c) => (
                <li key={c.type}>
                  {c.type}: {c.channels.join(', ')}
                </li>
              ))}
            </ul>
          )}
          <h3>Channel addresses</h3>
          {u.channelAddresses.length === 0 ? (
            <p class="muted">none</p>
          ) : (
            <ul>
              {u.channelAddresses.map((a) => (
                <li key={a.channel}>
                  {a.channel}: <code>{a.address}</code> <span class="muted">({when(a.updatedAt)})</span>
                </li>
              ))}
            </ul>
          )}
          <h3>Recent deliveries ({data.deliveryLog.totalCount})</h3>
          {data.deliveryLog.edges.length ? <DeliveryTable rows={data.deliveryLog.edges.map((e) => e.node)} /> : <p class="muted">none</p>}
        </div>
      )}
    </section>
  );
}
