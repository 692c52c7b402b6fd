/**
 * The operator console at /console/: an admin token pasted once and kept in sessionStorage (this
 * tab only), then the live dashboard, jobs, dead letters, sending and one user's view.
 */
import { render } from 'preact';
import { useErrorBoundary, useState } from 'preact/hooks';
import { DashboardDocument } from '../../client/src/index';
import { gql, message } from '../shared/graphql';
import '../shared/style.css';
import { DashboardView, useDashboard } from './dashboard';
import { DeliveriesView, JobsView, SendView, UserView } from './pages';

const KEY = 'notifications.console.token';
const TABS = ['Dashboard', 'Jobs', 'Deliveries', 'Send', 'User'] as const;
type Tab = (typeof TABS)[number];

function SignIn({ onToken }: { onToken: (t: string) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main>
      <section class="card" style={{ maxWidth: '560px', margin: '2rem auto' }}>
        <h2>Sign in</h2>
        <p class="muted">Paste an admin token. It stays in this tab only (sessionStorage).</p>
        <form
          class="stack"
          onSubmit={async (e) => {
            e.preventDefault();
            const token = String(new FormData(e.currentTarget).get('token') ?? '').trim().replace(/^Bearer\s+/i, '');
            setBusy(true);
            setError(null);
            try {
              // Checked once here, so a wrong token is a message, not a console of errors.
              await gql(token, DashboardDocument, {});
              sessionStorage.setItem(KEY, token);
              onToken(token);
            } catch (err) {
              setError(message(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <label>
            admin token
            <textarea name="token" rows={4} required data-testid="token" />
          </label>
          <div>
            <button class="primary" disabled={busy} data-testid="sign-in">
              Sign in
            </button>
          </div>
          {error && (
            <div class="error" role="alert">
              {error}
            </div>
          )}
        </form>
      </section>
    </main>
  );
}

function Console({ token, onSignOut }: { token: string; onSignOut: () => void }) {
  const [tab, setTab] = useState<Tab>('Dashboard');
  // One stream for the page: the Send tab's confirmation uses its active-user count.
  const dash = useDashboard(token);
  const [crash, reset] = useErrorBoundary();
  return (
    <>
      <header class="bar">
        <h1>Notifications console</h1>
        <nav class="tabs">
          {TABS.map((t) => (
            <button key={t} aria-current={tab === t ? 'page' : undefined} onClick={() => (reset(), setTab(t))}>
              {t}
            </button>
          ))}
        </nav>
        <button class="secondary" style={{ marginLeft: 'auto' }} onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main>
        {crash ? (
          <div class="error" role="alert">
            This view failed: {message(crash)}
          </div>
        ) : (
          <>
            {tab === 'Dashboard' && <DashboardView token={token} dash={dash} />}
            {tab === 'Jobs' && <JobsView token={token} />}
            {tab === 'Deliveries' && <DeliveriesView token={token} />}
            {tab === 'Send' && <SendView token={token} activeUsers={dash.samples.at(-1)?.d.notifications.activeUsers ?? null} />}
            {tab === 'User' && <UserView token={token} />}
          </>
        )}
      </main>
    </>
  );
}

function App() {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(KEY));
  if (!token) return <SignIn onToken={setToken} />;
  return (
    <Console
      token={token}
      onSignOut={() => {
        sessionStorage.removeItem(KEY);
        setToken(null);
      }}
    />
  );
}

render(<App />, document.getElementById('app')!);
