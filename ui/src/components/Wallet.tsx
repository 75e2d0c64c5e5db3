// The node's on-chain wallet: balance (live), a receive address with its QR code, withdrawals
// and history.
import { type FormEvent, useState } from 'react';
import { post } from '../api';
import { btc, sats, signed } from '../format';
import { cfdHref } from '../route';
import type { AccountView, WalletHistoryRow, WalletState, WalletTxKind } from '../types';
import { ConfirmDialog, ErrorLine, Loading, Panel, ReauthPassword, Row, useAction } from './common';
import { useFetched } from './History';
import { Qr } from './Qr';
import { Txid } from './Txid';

export function Wallet({
  wallet,
  version,
  account,
}: {
  wallet: WalletState | null;
  version: number;
  account: AccountView | null;
}) {
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
            <Row label="Reserved for setups under way">{btc(wallet.balance.reserved)} BTC</Row>
            {account && <Account account={account} />}
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

/**
 * What the open contracts hold and would pay now, and the equity: wallet + contracts. Every
 * figure comes from the node (its `account` event); nothing is added up here.
 */
function Account({ account: a }: { account: AccountView }) {
  return (
    <>
      <Row label="In contracts (your margin)" testId="wallet-in-contracts">
        {btc(a.inContracts)} BTC{' '}
        <span className="muted small">
          ({a.positions} position{a.positions === 1 ? '' : 's'})
        </span>
      </Row>
      <Row label="Unrealised P/L" testId="wallet-unrealised">
        <span className={a.unrealised.startsWith('-') ? 'loss' : 'gain'}>
          {sats(signed(a.unrealised))}
        </span>
        {a.unpriced > 0 && <span className="muted small"> ({a.unpriced} without a price)</span>}
      </Row>
      {a.equity !== null && (
        <Row label="Equity (wallet + contracts)" testId="wallet-equity">
          <strong>{btc(a.equity)} BTC</strong>
        </Row>
      )}
    </>
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

/** What a wallet transaction was, in words. */
const KIND_TEXT: Record<WalletTxKind, string> = {
  deposit: 'deposit',
  withdraw: 'withdraw',
  lock: 'lock',
  close: 'close',
  cet: 'close (CET)',
  refund: 'refund',
  punish: 'punish',
  commit: 'commit',
  feeBump: 'fee bump',
};

function History({ version }: { version: number }) {
  // Refetched on every wallet event from the live feed.
  const { data, error } = useFetched<{ transactions: WalletHistoryRow[] }>(
    '/api/wallet/history',
    String(version),
  );
  const txs = data?.transactions ?? null;
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
                <th>What</th>
                <th>Tx</th>
                <th className="num">Net</th>
              </tr>
            </thead>
            <tbody>
              {txs.map((t) => (
                <tr key={t.txid} data-kind={t.kind}>
                  <td className="nowrap" data-testid="wallet-tx-kind">
                    {KIND_TEXT[t.kind]}
                    {t.cfdId && (
                      <>
                        {' '}
                        <a href={cfdHref(t.cfdId)} className="mono small" title={t.cfdId}>
                          {t.cfdId.slice(0, 6)}…
                        </a>
                      </>
                    )}
                  </td>
                  <td className="small nowrap" data-testid="wallet-tx">
                    <Txid txid={t.txid} chars={8} />
                    <div className="muted">
                      {t.height === null ? 'in the mempool' : `block ${t.height}`}
                    </div>
                  </td>
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
