/**
 * The reference inbox page at /inbox/, built on the client kit: a bell with the unread badge
 * and the list, live. A user's token comes as `#token=…` (kept in sessionStorage, then taken
 * out of the address bar) or is pasted.
 */
import { render } from 'preact';
import { useEffect, useErrorBoundary, useState } from 'preact/hooks';
import { createInboxClient, type InboxClient, type InboxState } from '../../client/src/index';
import { message, wsEndpoint } from '../shared/graphql';
import '../shared/style.css';
import './inbox.css';

const KEY = 'notifications.inbox.token';

function takeToken(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(KEY, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY);
}

function useInbox(token: string) {
  const [client, setClient] = useState<InboxClient | null>(null);
  const [state, setState] = useState<InboxState | null>(null);
  useEffect(() => {
    const c = createInboxClient({ url: wsEndpoint(), token, maxRetryDelayMs: 2000 });
    setClient(c);
    setState(c.getState());
    const off = c.subscribe(setState);
    return () => {
      off();
      c.close();
    };
  }, [token]);
  return { client, state };
}

function Inbox({ token, onSignOut }: { token: string; onSignOut: () => void }) {
  const { client, state } = useInbox(token);
  const [open, setOpen] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const act = (p: Promise<void> | undefined) => p?.then(() => setError(null), (err: unknown) => setError(message(err)));
  const unread = state?.unreadCount ?? null;
  return (
    <>
      <header class="bar">
        <h1>Inbox</h1>
        <span class={`status ${state?.connection === 'live' ? 'live' : 'down'}`} data-testid="connection">
          {state?.connection ?? 'connecting'}
        </span>
        <button class="bell" aria-label={`notifications, ${unread ?? 0} unread`} aria-expanded={open} onClick={() => setOpen(!open)} data-testid="bell">
          <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
            <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z" fill="currentColor" />
          </svg>
          {unread !== null && unread > 0 && (
            <span class="badge" data-testid="badge">
              {unread > 99 ? '99+' : unread}
            </span>
          )}
        </button>
        <button class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main>
        {state?.error && state.connection !== 'live' && <div class="error">{state.error}</div>}
        {error && (
          <div class="error" role="alert">
            {error}
          </div>
        )}
        {open && (
          <section class="card panel">
            <div class="row" style={{ justifyContent: 'space-between' }}>
              <h2>
                Notifications <span class="muted" data-testid="unread-count">{unread ?? '…'}</span> unread
              </h2>
              <button class="secondary" disabled={!unread} onClick={() => act(client?.markAllRead())}>
                Mark all read
              </button>
            </div>
            {state && state.items.length === 0 && <p class="muted">Nothing here yet.</p>}
            <ul class="items" data-testid="items">
              {state?.items.map((n) => (
                <li key={n.id} class={n.read ? 'read' : 'unread'} data-id={n.id}>
                  <div class="dot" aria-hidden="true" />
                  <div class="text">
                    <div class="title">{n.title}</div>
                    {n.body && <div class="body">{n.body}</div>}
                    <div class="muted when">
                      {n.type} · {new Date(n.createdAt).toLocaleString()}
                    </div>
                  </div>
                  {!n.read && (
                    <button class="secondary mark" onClick={() => act(client?.markRead([n.id]))}>
                      Mark read
                    </button>
                  )}
                </li>
              ))}
            </ul>
          </section>
        )}
      </main>
    </>
  );
}

function SignIn({ onToken }: { onToken: (t: string) => void }) {
  return (
    <main>
      <section class="card" style={{ maxWidth: '560px', margin: '2rem auto' }}>
        <h2>Sign in</h2>
        <p class="muted">Paste a user token (or open this page with #token=…).</p>
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            const t = String(new FormData(e.currentTarget).get('token') ?? '').trim().replace(/^Bearer\s+/i, '');
            sessionStorage.setItem(KEY, t);
            onToken(t);
          }}
        >
          <textarea name="token" rows={4} required />
          <div>
            <button class="primary">Open inbox</button>
          </div>
        </form>
      </section>
    </main>
  );
}

function App() {
  const [token, setToken] = useState<string | null>(takeToken);
  const [crash] = useErrorBoundary();
  if (crash) return <div class="error" role="alert">The inbox failed: {message(crash)}</div>;
  if (!token) return <SignIn onToken={setToken} />;
  return (
    <Inbox
      token={token}
      onSignOut={() => {
        sessionStorage.removeItem(KEY);
        setToken(null);
      }}
    />
  );
}

render(<App />, document.getElementById('app')!);
