import { type FormEvent, useState } from 'react';
import { post } from '../api';
import { ErrorLine, useAction } from './common';

/** The password page. On success the session cookie is set (HttpOnly) and `onLoggedIn` runs. */
export function Login({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      await post('/api/login', { password });
      onLoggedIn();
    });
  };
  return (
    <main className="login">
      <form onSubmit={submit} className="panel login-form" data-testid="login-form">
        <h1>dlcfd</h1>
        <p className="muted">Enter this node’s UI password.</p>
        <input
          type="password"
          autoComplete="current-password"
          placeholder="Password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          data-testid="login-password"
          aria-label="Password"
        />
        <button
          type="submit"
          className="primary"
          disabled={busy || !password}
          data-testid="login-submit"
        >
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <ErrorLine error={error} testId="login-error" />
      </form>
    </main>
  );
}
