// The taker's limits (GET/PUT /api/taker/limits): the largest funding rate, opening fee and fee
// rate it accepts from its maker. Offers beyond them are marked and cannot be taken; a rollover
// beyond them is refused and auto-rollover of that position pauses. Only changed fields are sent;
// what is shown as current is what the node reports (the live `limits` event or the GET answer).
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { errorText, get, put } from '../api';
import type { TakerLimitsView as Limits } from '../types';
import {
  ErrorLine,
  fieldErrors,
  Loading,
  Panel,
  ReauthPassword,
  useAction,
  wholeNumberProblem,
} from './common';

type Form = { maxFundingRate: string; maxOpeningFeeBps: string; maxTxFeeRate: string };

const toForm = (l: Limits): Form => ({
  maxFundingRate: l.maxFundingRate,
  maxOpeningFeeBps: String(l.maxOpeningFeeBps),
  maxTxFeeRate: String(l.maxTxFeeRate),
});

/** The inputs, in the order shown: field, label, test id. */
const FIELDS: readonly (readonly [keyof Form, string, string])[] = [
  ['maxFundingRate', 'Max funding rate / interval (±)', 'limits-funding'],
  ['maxOpeningFeeBps', 'Max opening fee (bps of margin)', 'limits-opening-fee'],
  ['maxTxFeeRate', 'Max tx fee rate (sat/vB)', 'limits-fee-rate'],
];

/** The readable problem of each whole-number field, checked before anything is sent. */
function localProblems(f: Form): Partial<Record<string, string>> {
  const out: Partial<Record<string, string>> = {};
  const fee = wholeNumberProblem('Max opening fee', f.maxOpeningFeeBps, 'basis points', 0);
  const rate = wholeNumberProblem('Max tx fee rate', f.maxTxFeeRate, 'sat/vB', 1);
  if (fee) out.maxOpeningFeeBps = fee;
  if (rate) out.maxTxFeeRate = rate;
  return out;
}

/** The fields that differ from the node's limits, typed as the API wants them. */
function patchOf(f: Form, l: Limits): Record<string, unknown> {
  const now = toForm(l);
  const out: Record<string, unknown> = {};
  for (const [k] of FIELDS) {
    if (f[k] === now[k]) continue;
    out[k] = k === 'maxFundingRate' || !/^\d+$/.test(f[k]) ? f[k] : Number(f[k]);
  }
  return out;
}

export function TakerLimits({ live }: { live: Limits | null }) {
  const [limits, setLimits] = useState<Limits | null>(null);
  const [form, setForm] = useState<Form | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [problems, setProblems] = useState<Partial<Record<string, string>>>({});
  const { busy, error, setError, run } = useAction();

  useEffect(() => {
    let current = true;
    get<Limits>('/api/taker/limits')
      .then((l) => {
        if (!current) return;
        setLimits(l);
        setForm(toForm(l));
      })
      .catch((err: Error) => current && setLoadError(err.message));
    return () => {
      current = false;
    };
  }, []);

  // A change made elsewhere replaces what is shown, unless being edited.
  const seen = useRef({ limits, form });
  seen.current = { limits, form };
  useEffect(() => {
    if (!live) return;
    const { limits: old, form: f } = seen.current;
    if (!f || !old || Object.keys(patchOf(f, old)).length === 0) setForm(toForm(live));
    setLimits(live);
  }, [live]);

  const [password, setPassword] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!form || !limits) return;
    const patch = patchOf(form, limits);
    const local = localProblems(form);
    setProblems(local);
    if (Object.keys(local).length > 0) return;
    void run(async () => {
      try {
        const l = await put<Limits>('/api/taker/limits', { ...patch, password });
        setPassword('');
        setLimits(l);
        setForm(toForm(l));
        setSaved(true);
      } catch (err) {
        const split = fieldErrors(errorText(err), Object.keys(form));
        setProblems(split.byField);
        if (split.general) throw new Error(split.general);
        setError(null);
      }
    });
  };
  const dirty = form && limits ? Object.keys(patchOf(form, limits)).length > 0 : false;

  return (
    <Panel title="Your limits" testId="limits-panel">
      {loadError ? (
        <div className="error" role="alert" data-testid="limits-error">
          Cannot load your limits: {loadError}
        </div>
      ) : !form || !limits ? (
        <Loading what="limits" />
      ) : (
        <form onSubmit={submit} className="policy-form">
          <div className="muted small">
            Offers and rollovers beyond these are refused; auto-rollover of a position pauses.
          </div>
          <div className="grid2">
            {FIELDS.map(([key, label, testId]) => (
              <label className="field" key={key}>
                <span>{label}</span>
                <input
                  value={form[key]}
                  onChange={(e) => {
                    setSaved(false);
                    setProblems((p) => ({ ...p, [key]: undefined }));
                    setForm((f) => (f ? { ...f, [key]: e.target.value } : f));
                  }}
                  aria-invalid={problems[key] !== undefined}
                  data-testid={testId}
                />
                <ErrorLine error={problems[key] ?? null} testId={`${testId}-error`} />
              </label>
            ))}
          </div>
          <ReauthPassword value={password} onChange={setPassword} testId="limits-password" />
          <div className="row">
            <button
              type="submit"
              className="primary"
              disabled={busy || !dirty || !password}
              data-testid="limits-save"
            >
              {busy ? 'Saving…' : 'Save'}
            </button>
            {saved && !dirty && (
              <span className="ok" data-testid="limits-saved">
                Saved.
              </span>
            )}
          </div>
          <ErrorLine error={error} testId="limits-save-error" />
        </form>
      )}
    </Panel>
  );
}
