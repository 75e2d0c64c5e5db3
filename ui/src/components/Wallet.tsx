// The node's on-chain wallet: balance (live), a receive address with its QR code, withdrawals
// and history.
import { type FormEvent, useEffect, useState } from 'react';
import { get, post } from '../api';
import { btc, sats, signed } from '../format';
import type { WalletState, WalletTxView } from '../types';
import { ConfirmDialog, ErrorLine, Loading, Panel, ReauthPassword, Row, useAction } from './common';
import { Qr } from './Qr';
import { Txid } from './Txid';

export function Wallet({ wallet, version }: { wallet: WalletState | null; version: number }) {
  return (
    <Panel title="Wallet" testId="wallet-panel">
      {!wallet ? (
        <Loading what="wallet" />
      ) : !wallet.available ? (
        <div className="warn" data-testid="wallet-unavailable">
          Wallet not available: {wallet.reason}
        </div>
      ) : (
        <>
          <div className="balance">
            <Row label="Spendable" testId="wallet-spendable">
              {btc(wallet.balance.spendable)} BTC
            </Row>
            <Row label="Confirmed">{btc(wallet.balance.confirmed)} BTC</Row>
            <Row label="Unconfirmed">{btc(wallet.balance.unconfirmed)} BTC</Row>
            <Row label="Reserved for contracts">{btc(wallet.balance.reserved)} BTC</Row>
            <Row label="Network / height">
              {wallet.network} / {wallet.height ?? 'syncing'}
            </Row>
          </div>
          <Receive />
          <Withdraw />
          <History version={version} />
        </>
      )}
    </Panel>
  );
}

function Receive() {
  const [address, setAddress] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  return (
    <div className="subpanel">
      <h3>Receive</h3>
      <button
        type="button"
        disabled={busy}
        data-testid="wallet-new-address"
        onClick={() =>
          void run(async () =>
            setAddress((await post<{ address: string }>('/api/wallet/address')).address),
          )
        }
      >
        {busy ? 'Getting address…' : address ? 'New address' : 'Show a receive address'}
      </button>
      <ErrorLine error={error} />
      {address && (
        <div className="receive">
          <Qr text={`bitcoin:${address}`} />
          <code className="mono" data-testid="wallet-address">
            {address}
          </code>
        </div>
      )}
    </div>
  );
}

function Withdraw() {
  const [address, setAddress] = useState('');
  const [amount, setAmount] = useState('');
  const [feeRate, setFeeRate] = useState('2');
  const [password, setPassword] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<{
    txid: string;
    amount: string;
    fee: string;
    vsize: number;
  } | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setConfirming(true);
  };
  return (
    <form className="subpanel" onSubmit={submit}>
      <h3>Withdraw</h3>
      <label className="field">
        <span>Address</span>
        <input
          value={address}
          onChange={(e) => setAddress(e.target.value)}
          data-testid="withdraw-address"
        />
      </label>
      <label className="field">
        <span>Amount (sat; empty: everything)</span>
        <input
          value={amount}
          inputMode="numeric"
          onChange={(e) => setAmount(e.target.value.trim())}
          data-testid="withdraw-amount"
        />
      </label>
      <label className="field">
        <span>Fee rate (sat/vB)</span>
        <input
          value={feeRate}
          inputMode="numeric"
          onChange={(e) => setFeeRate(e.target.value.trim())}
          data-testid="withdraw-fee-rate"
        />
      </label>
      <ReauthPassword value={password} onChange={setPassword} testId="withdraw-password" />
      <button type="submit" disabled={!address || !password} data-testid="withdraw-submit">
        Withdraw…
      </button>
      {done && (
        <div className="ok" data-testid="withdraw-sent">
          Sent {sats(done.amount)}, fee {sats(done.fee)} ({done.vsize} vB), tx{' '}
          <Txid txid={done.txid} chars={16} />
        </div>
      )}
      {confirming && (
        <ConfirmDialog
          title="Withdraw?"
          confirmLabel="Withdraw"
          danger
          onClose={() => setConfirming(false)}
          onConfirm={async () => {
            setDone(
              await post('/api/wallet/withdraw', {
                address,
                amount: amount === '' ? 'all' : amount,
                feeRate,
                password,
              }),
            );
            // Sent: an empty form cannot send the same withdrawal twice.
            setPassword('');
            setAddress('');
            setAmount('');
          }}
        >
          <Row label="To">
            <span className="mono small">{address}</span>
          </Row>
          <Row label="Amount">{amount === '' ? 'everything spendable' : sats(amount)}</Row>
          <Row label="Fee rate">{feeRate} sat/vB</Row>
          <Row label="Fee">
            {feeRate} sat/vB × the transaction's size (≈ 110 vB for one coin to one address; the
            exact fee is shown once sent)
          </Row>
        </ConfirmDialog>
      )}
    </form>
  );
}

function History({ version }: { version: number }) {
  const [txs, setTxs] = useState<WalletTxView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Refetch on every wallet event from the live feed.
  useEffect(() => {
    let current = true;
    if (version < 0) return;
    get<{ transactions: WalletTxView[] }>('/api/wallet/history')
      .then((r) => {
        if (current) {
          setTxs(r.transactions);
          setError(null);
        }
      })
      .catch((err: Error) => current && setError(err.message));
    return () => {
      current = false;
    };
  }, [version]);
  return (
    <div className="subpanel">
      <h3>History</h3>
      <ErrorLine error={error} />
      {!txs && !error && <Loading what="history" />}
      {txs && txs.length === 0 && <div className="muted">No transactions yet</div>}
      {txs && txs.length > 0 && (
        <div className="scroll capped">
          <table className="table" data-testid="wallet-history">
            <thead>
              <tr>
                <th>Tx</th>
                <th>Block</th>
                <th className="num">Net</th>
              </tr>
            </thead>
            <tbody>
              {txs.map((t) => (
                <tr key={t.txid}>
                  <td className="small" data-testid="wallet-tx">
                    <Txid txid={t.txid} chars={12} />
                  </td>
                  <td>{t.height ?? 'mempool'}</td>
                  <td className={`num ${t.net.startsWith('-') ? 'loss' : 'gain'}`}>
                    {sats(signed(t.net))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
