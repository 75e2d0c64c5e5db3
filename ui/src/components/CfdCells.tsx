// Cells the CFD tables share (open and closed): P/L with the payout once settled, and the
// transactions, each id cut short with its copy button or explorer link.
import type { CfdView } from '../types';
import { PayoutLine, pnlText } from './Money';
import { Txid } from './Txid';

/** P/L in sats and percent of margin, the payout it comes from (Money.tsx); a stale price flagged. */
export function PnlCell({ cfd: c }: { cfd: CfdView }) {
  return (
    <td className="num" data-testid="cfd-pnl">
      {c.profit ? (
        <span className={c.profit.sats.startsWith('-') ? 'loss' : 'gain'}>
          {pnlText(c.profit)}
          <div className="small" data-testid="cfd-payout">
            <PayoutLine profit={c.profit} />
          </div>
          {c.profit.stale && <div className="warn small">stale price</div>}
        </span>
      ) : (
        '—'
      )}
    </td>
  );
}

/** The CFD's transactions, one line each: what it is and its id. */
export function TxCell({ cfd: c }: { cfd: CfdView }) {
  return (
    <td className="small">
      {c.transactions.map((t) => (
        <div
          key={`${t.kind}-${t.txid}`}
          className="nowrap"
          title={t.txid}
          data-testid={`tx-${t.kind}`}
        >
          {t.kind} <Txid txid={t.txid} chars={6} />
        </div>
      ))}
    </td>
  );
}
