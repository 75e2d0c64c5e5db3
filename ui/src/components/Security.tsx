// Re-authenticated actions: showing the wallet's recovery words and changing the UI password.
// Both ask for the current password again, so an unattended logged-in browser cannot do them.
import { type FormEvent, useState } from 'react';
import { post } from '../api';
import { ErrorLine, Panel, useAction } from './common';

export function Security() {
  return (
    <Panel title="Security" testId="security-panel">
      <Mnemonic />
      <ChangePassword />
    </Panel>
  );
}

function Mnemonic() {
  const [password, setPassword] = useState('');
  const [words, setWords] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const r = await post<{ mnemonic: string }>('/api/wallet/mnemonic', { password });
      setWords(r.mnemonic);
      setPassword('');
    });
  };
  if (words) {
    return (
      <div className="subpanel first">
        <h3>Recovery words</h3>
        <p className="warn small">
          Anyone with these words can spend this wallet. Write them down offline.
        </p>
        <code className="mono" data-testid="mnemonic">
          {words}
        </code>
        <div className="row">
          <button type="button" onClick={() => setWords(null)}>
            Hide
          </button>
        </div>
      </div>
    );
  }
  return (
    <form className="subpanel first" onSubmit={submit}>
      <h3>Show the wallet’s recovery words</h3>
      <input
        type="password"
        autoComplete="current-password"
        placeholder="Password"
        aria-label="Password"
        data-testid="mnemonic-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <div className="row">
        <button type="submit" disabled={busy || !password} data-testid="mnemonic-show">
          {busy ? 'Checking…' : 'Show'}
        </button>
      </div>
      <ErrorLine error={error} testId="mnemonic-error" />
    </form>
  );
}

function ChangePassword() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [done, setDone] = useState(false);
  const { busy, error, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setDone(false);
    void run(async () => {
      await post('/api/password', { current, new: next });
      setCurrent('');
      setNext('');
      setDone(true);
    });
  };
  return (
    <form className="subpanel" onSubmit={submit}>
      <h3>Change the UI password</h3>
      <input
        type="password"
        autoComplete="current-password"
        placeholder="Current password"
        aria-label="Current password"
        data-testid="password-current"
        value={current}
        onChange={(e) => setCurrent(e.target.value)}
      />
      <input
        type="password"
        autoComplete="new-password"
        placeholder="New password"
        aria-label="New password"
        data-testid="password-new"
        value={next}
        onChange={(e) => setNext(e.target.value)}
      />
      <div className="row">
        <button type="submit" disabled={busy || !current || !next} data-testid="password-change">
          {busy ? 'Changing…' : 'Change'}
        </button>
        {done && (
          <span className="ok" data-testid="password-changed">
            Changed; other sessions were logged out.
          </span>
        )}
      </div>
      <ErrorLine error={error} testId="password-error" />
    </form>
  );
}
