/** Addresses derived past the last used one on each chain (BIP44's gap limit). */
export const GAP_LIMIT = 20;

/**
 * How long coins stay reserved for a contract setup that neither completed nor failed. ItchySats
 * locked them for 12 minutes (four of its sync intervals) and then forgot to release them on
 * failure; we release on failure and let this bound the worst case.
 */
export const DEFAULT_RESERVATION_TTL_MS = 12 * 60 * 1000;

/** Outputs below this are dust for P2WPKH at Bitcoin Core's default dust relay fee (3 sat/vB). */
export const P2WPKH_DUST_LIMIT = 294n;

/**
 * Size coinselect should assume for a P2WPKH input's script: 28 makes its byte count 69, one
 * more than the real 68 vbytes, which also covers the segwit marker and flag (0.5 vbyte).
 */
export const P2WPKH_INPUT_SCRIPT_ESTIMATE = 28;

/** Block hashes kept to find where a reorg forked off. Deeper reorgs rescan from the birthday. */
export const REORG_DEPTH = 100;

/** File holding the BIP39 mnemonic, in the data dir, mode 0600. */
export const MNEMONIC_FILE = 'wallet.mnemonic';
