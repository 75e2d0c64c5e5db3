// The maker's policy editor (GET/PUT /api/maker/policy): publishing, spread, quantities,
// leverages, rates and auto-accept. Only changed fields are sent; the node checks them and the
// form shows each problem beside its field: checked here first in words ("Spread must be 0 or
// more"), and what the node refuses is split by field too. What is shown as current is what the node reports —
// the live `policy` event, or the GET answer — never the form's own guess.
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { errorText, get, put } from '../api';
import type { MakerPolicy as Policy } from '../types';
import {
  ErrorLine,
  fieldErrors,
  Loading,
  Panel,
  ReauthPassword,
  useAction,
  wholeNumberProblem,
} from './common';

type Form = {
  autoAccept: boolean;
  publishing: boolean;
  spreadBps: string;
  minQuantity: string;
  maxQuantity: string;
  lotSize: string;
  leverageChoices: string;
  fundingRate: string;
  openingFee: string;
  txFeeRate: string;
};

const toForm = (p: Policy): Form => ({
  autoAccept: p.autoAccept,
  publishing: p.publishing,
  spreadBps: String(p.spreadBps),
  minQuantity: p.minQuantity,
  maxQuantity: p.maxQuantity,
  lotSize: p.lotSize,
  leverageChoices: p.leverageChoices.join(', '),
  fundingRate: p.fundingRate,
  openingFee: p.openingFee,
  txFeeRate: String(p.txFeeRate),
});

type TextField = Exclude<keyof Form, 'autoAccept' | 'publishing'>;

/** The policy's text inputs, in the order shown: field, label, test id. */
const TEXT_FIELDS: readonly (readonly [TextField, string, string])[] = [
  ['spreadBps', 'Spread (bps)', 'policy-spread'],
  ['lotSize', 'Lot size (contracts)', 'policy-lot-size'],
  ['minQuantity', 'Min quantity', 'policy-min'],
  ['maxQuantity', 'Max quantity', 'policy-max'],
  ['leverageChoices', 'Leverages', 'policy-leverages'],
  ['fundingRate', 'Funding rate / interval', 'policy-funding'],
  ['openingFee', 'Opening fee (sat)', 'policy-opening-fee'],
  ['txFeeRate', 'Tx fee rate (sat/vB)', 'policy-fee-rate'],
];

/** The readable problem of each whole-number field, checked before anything is sent. */
function localProblems(f: Form): Partial<Record<TextField, string>> {
  const out: Partial<Record<TextField, string>> = {};
  const check = (k: TextField, problem: string | null) => {
    if (problem) out[k] = problem;
  };
  check('spreadBps', wholeNumberProblem('Spread', f.spreadBps, 'basis points', 0, 1000));
  check('lotSize', wholeNumberProblem('Lot size', f.lotSize, 'contracts', 1));
  check('minQuantity', wholeNumberProblem('Min quantity', f.minQuantity, 'contracts', 1));
  check('maxQuantity', wholeNumberProblem('Max quantity', f.maxQuantity, 'contracts', 1));
  check('openingFee', wholeNumberProblem('Opening fee', f.openingFee, 'sats', 0));
  check('txFeeRate', wholeNumberProblem('Tx fee rate', f.txFeeRate, 'sat/vB', 1));
  return out;
}

/** What saving did to the offers, in words: withdrawn, published, or republished. */
function savedText(before: Policy, after: Policy): string {
  if (before.publishing && !after.publishing)
    return 'Saved; offers withdrawn: takers see none until you publish again.';
  if (!before.publishing && after.publishing) return 'Saved; offers published.';
  return after.publishing
    ? 'Saved; offers republished with these terms.'
    : 'Saved; offers stay unpublished.';
}

/** The fields that differ from the node's policy, typed as the API wants them. */
function patchOf(f: Form, p: Policy): Record<string, unknown> {
  const now = toForm(p);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(f) as (keyof Form)[]) {
    if (f[k] === now[k]) continue;
    const v = f[k];
    if (k === 'spreadBps' || k === 'txFeeRate') out[k] = /^-?\d+$/.test(String(v)) ? Number(v) : v;
    else if (k === 'leverageChoices') {
      out[k] = String(v)
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((x) => (/^\d+$/.test(x) ? Number(x) : x));
    } else out[k] = v;
  }
  return out;
}

export function MakerPolicy({ live }: { live: Policy | null }) {
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [form, setForm] = useState<Form | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [problems, setProblems] = useState<Partial<Record<string, string>>>({});
  const { busy, error, setError, run } = useAction();

  useEffect(() => {
    let current = true;
    get<Policy>('/api/maker/policy')
      .then((p) => {
        if (!current) return;
        setPolicy(p);
        setForm(toForm(p));
      })
      .catch((err: Error) => current && setLoadError(err.message));
    return () => {
      current = false;
    };
  }, []);

  // A change made elsewhere (another tab, the API) replaces what is shown, unless being edited.
  const seen = useRef({ policy, form });
  seen.current = { policy, form };
  useEffect(() => {
    if (!live) return;
    const { policy: old, form: f } = seen.current;
    if (!f || !old || Object.keys(patchOf(f, old)).length === 0) setForm(toForm(live));
    setPolicy(live);
  }, [live]);

  const set = <K extends keyof Form>(k: K, v: Form[K]) => {
    setSaved(null);
    setProblems((p) => ({ ...p, [k]: undefined }));
    setForm((f) => (f ? { ...f, [k]: v } : f));
  };
  const [password, setPassword] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!form || !policy) return;
    const patch = patchOf(form, policy);
    const local = localProblems(form);
    setProblems(local);
    if (Object.keys(local).length > 0) return;
    void run(async () => {
      try {
        const p = await put<Policy>('/api/maker/policy', { ...patch, password });
        setPassword('');
        setSaved(savedText(policy, p));
        setPolicy(p);
        setForm(toForm(p));
      } catch (err) {
        // Each refusal beside its field; the rest (the password…) below the form.
        const split = fieldErrors(errorText(err), Object.keys(form));
        setProblems(split.byField);
        if (split.general) throw new Error(split.general);
        setError(null);
      }
    });
  };
  const dirty = form && policy ? Object.keys(patchOf(form, policy)).length > 0 : false;

  return (
    <Panel title="Offers policy" testId="policy-panel">
      {loadError ? (
        <div className="error" role="alert" data-testid="policy-error">
          Cannot load the maker policy: {loadError}
        </div>
      ) : !form || !policy ? (
        <Loading what="policy" />
      ) : (
        <form onSubmit={submit} className="policy-form">
          <label className="check">
            <input
              type="checkbox"
              checked={form.publishing}
              onChange={(e) => set('publishing', e.target.checked)}
              data-testid="policy-publishing"
            />
            Publish offers
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={form.autoAccept}
              onChange={(e) => set('autoAccept', e.target.checked)}
              data-testid="policy-auto-accept"
            />
            Accept orders and settlements automatically
          </label>
          <div className="grid2">
            {TEXT_FIELDS.map(([key, label, testId]) => (
              <Field
                key={key}
                label={label}
                value={form[key]}
                onChange={(v) => set(key, v)}
                testId={testId}
                problem={problems[key] ?? null}
              />
            ))}
          </div>
          <ReauthPassword value={password} onChange={setPassword} testId="policy-password" />
          <div className="row">
            <button
              type="submit"
              className="primary"
              disabled={busy || !dirty || !password}
              data-testid="policy-save"
            >
              {busy ? 'Saving…' : 'Save'}
            </button>
            <button type="button" disabled={busy || !dirty} onClick={() => setForm(toForm(policy))}>
              Undo changes
            </button>
            {saved && !dirty && (
              <span className="ok" data-testid="policy-saved">
                {saved}
              </span>
            )}
          </div>
          <ErrorLine error={error} testId="policy-save-error" />
        </form>
      )}
    </Panel>
  );
}

function Field({
  label,
  value,
  onChange,
  testId,
  problem,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  testId: string;
  problem: string | null;
}) {
  return (
    <label className="field">
      <span>{label}</span>
      <input
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={problem !== null}
        data-testid={testId}
      />
      <ErrorLine error={problem} testId={`${testId}-error`} />
    </label>
  );
}
