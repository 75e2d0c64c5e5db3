// Small building blocks shared by the panels: loading and error lines, a status dot, a
// confirmation dialog and a hook that runs an action and remembers why it failed.
import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { errorText } from '../api';
import { IN_PROGRESS, STATE_LABEL } from '../format';
import type { HealthStatus } from '../types';

export function Loading({ what }: { what: string }) {
  return (
    <div className="loading" data-testid="loading">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

/** A failure's message: wrapped inside its card, its first lines until clicked (styles.css). */
export function ErrorLine({ error, testId }: { error: string | null; testId?: string }) {
  const [expanded, setExpanded] = useState(false);
  if (!error) return null;
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: the whole text is also in the tooltip
    <div
      className={`error${expanded ? ' expanded' : ''}`}
      role="alert"
      title={error}
      onClick={() => setExpanded((e) => !e)}
      data-testid={testId ?? 'error'}
    >
      {error}
    </div>
  );
}

export function StatusDot({ status }: { status: HealthStatus | string }) {
  return <span className={`dot dot-${status}`} title={status} aria-hidden="true" />;
}

export function StateBadge({ state }: { state: string }) {
  return (
    <span className={`badge state-${state}`} data-testid="cfd-state" data-state={state}>
      {IN_PROGRESS.has(state) && <span className="spinner small" aria-hidden="true" />}
      {STATE_LABEL[state] ?? state}
    </span>
  );
}

export function Panel({
  title,
  children,
  testId,
  extra,
}: {
  title: string;
  children: ReactNode;
  testId?: string;
  extra?: ReactNode;
}) {
  return (
    <section className="panel" data-testid={testId}>
      <header>
        <h2>{title}</h2>
        {extra}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}

/**
 * Runs an async action: `busy` while it runs, `error` with the server's message when it fails.
 * The result (or undefined on failure) is returned to the caller.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );
  const run = useCallback(async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (err) {
      if (mounted.current) setError(errorText(err));
      return undefined;
    } finally {
      if (mounted.current) setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/** A modal asking to confirm; `onConfirm` runs with progress and error shown inside it. */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  danger,
  onConfirm,
  onClose,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
}) {
  const { busy, error, run } = useAction();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} className="dialog" data-testid="confirm-dialog" onClose={onClose}>
      <h3>{title}</h3>
      <div className="dialog-body">{children}</div>
      <ErrorLine error={error} testId="confirm-error" />
      <div className="dialog-actions">
        <button type="button" onClick={onClose} disabled={busy} data-testid="confirm-cancel">
          Cancel
        </button>
        <button
          type="button"
          className={danger ? 'danger' : 'primary'}
          disabled={busy}
          data-testid="confirm-ok"
          onClick={() =>
            void run(async () => {
              await onConfirm();
              onClose();
            })
          }
        >
          {busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** Re-renders every `ms` (for "12s ago" texts). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export function Row({
  label,
  children,
  testId,
}: {
  label: string;
  children: ReactNode;
  testId?: string;
}) {
  return (
    <div className="kv">
      <span className="k">{label}</span>
      <span className="v" data-testid={testId}>
        {children}
      </span>
    </div>
  );
}

/**
 * The UI password again, for the actions the node re-authenticates (withdrawal, policy, limits):
 * an unattended or hijacked logged-in browser cannot do them alone.
 */
export function ReauthPassword({
  value,
  onChange,
  testId,
}: {
  value: string;
  onChange: (v: string) => void;
  testId: string;
}) {
  return (
    <label className="field">
      <span>Your password (to confirm)</span>
      <input
        type="password"
        autoComplete="current-password"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        data-testid={testId}
      />
    </label>
  );
}

/**
 * Why `text` is not a whole number from `min` to `max`, in words naming the field by its `label`
 * ("Spread must be 0 or more"); null when it is one.
 */
export function wholeNumberProblem(
  label: string,
  text: string,
  unit: string,
  min: number,
  max?: number,
): string | null {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return `${label} must be a whole number of ${unit}`;
  const n = Number(t);
  if (n < min) return `${label} must be ${min} or more`;
  if (max !== undefined && n > max) return `${label} must be at most ${max}`;
  return null;
}

/**
 * A refusal from the node split by field: each `field: message` (or message starting with the
 * field's name) of a `; `-separated answer goes to that field; what names none stays general.
 */
export function fieldErrors(
  message: string,
  fields: readonly string[],
): { byField: Partial<Record<string, string>>; general: string | null } {
  const byField: Partial<Record<string, string>> = {};
  const general: string[] = [];
  const body = message.replace(/^invalid (body|policy|limits): /, '');
  for (const part of body.split('; ')) {
    const m = /^(\w+)(?::| )\s*(.*)$/.exec(part);
    const field = m && fields.includes(m[1]!) ? m[1]! : undefined;
    if (field) byField[field] = part.includes(':') && part.startsWith(`${field}:`) ? m![2]! : part;
    else general.push(part);
  }
  return { byField, general: general.length > 0 ? general.join('; ') : null };
}
