// A transaction id as a link to the node's block explorer (GET /api/node `explorer`), or — when
// there is none, as on regtest, where a public explorer would only show "not found" — as text
// with a copy button.
import { createContext, useContext, useEffect, useState } from 'react';
import { shortId } from '../format';

/** The explorer template, `{txid}` where the id goes; null: none. Provided by the dashboard. */
export const ExplorerContext = createContext<string | null>(null);

export function explorerLink(template: string, txid: string): string {
  return template.replaceAll('{txid}', encodeURIComponent(txid));
}

/**
 * `chars`: how many leading characters to show (the full id is the tooltip); 0: as much as fits,
 * cut with an ellipsis — an id is never wrapped onto a second line.
 */
export function Txid({ txid, chars = 10 }: { txid: string; chars?: number }) {
  const explorer = useContext(ExplorerContext);
  const text = chars > 0 ? shortId(txid, chars) : txid;
  const fit = chars > 0 ? '' : ' ellipsis';
  if (explorer) {
    return (
      <a
        className={`mono txid${fit}`}
        href={explorerLink(explorer, txid)}
        target="_blank"
        rel="noopener noreferrer"
        title={`${txid} (opens the block explorer)`}
        data-testid="txid-link"
      >
        {text}
      </a>
    );
  }
  return (
    <span className="txid">
      <span className={`mono${fit}`} title={txid}>
        {text}
      </span>{' '}
      <CopyButton text={txid} />
    </span>
  );
}

/** Copies `text` (`what` it is, for the tooltip: the transaction id by default). */
export function CopyButton({ text, what = 'transaction id' }: { text: string; what?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 1500);
    return () => clearTimeout(t);
  }, [state]);
  const copy = () => {
    copyText(text).then(
      () => setState('copied'),
      () => setState('failed'),
    );
  };
  return (
    <button
      type="button"
      className="copy"
      onClick={copy}
      title={`Copy the ${what}`}
      aria-label={`Copy the ${what}`}
      data-testid="txid-copy"
    >
      {state === 'copied' ? 'copied' : state === 'failed' ? 'select it' : 'copy'}
    </button>
  );
}

/**
 * The Clipboard API where the page is a secure context (https, or the node's loopback address);
 * otherwise the older selection-based copy, e.g. a node reached over plain http on a LAN.
 */
async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  try {
    if (!document.execCommand('copy')) throw new Error('copy refused');
  } finally {
    area.remove();
  }
}
