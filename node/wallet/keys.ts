/**
 * Keys and addresses of the node's wallet: BIP39 seed → BIP84 account (native segwit, P2WPKH).
 * Coin type 0 on mainnet, 1 on testnet and regtest, as BIP44 says.
 */
import { HDKey } from '@scure/bip32';
import { address as baddress, type Network, networks, payments } from 'bitcoinjs-lib';
import { InvalidAddressError } from '../chain/errors.ts';

export type BitcoinNetwork = 'mainnet' | 'testnet' | 'regtest';

/** bitcoinjs-lib's parameters for each network (regtest: bech32 `bcrt`, base58 111/196). */
export const NETWORKS: Record<BitcoinNetwork, Network> = {
  mainnet: networks.bitcoin,
  testnet: networks.testnet,
  regtest: networks.regtest,
};

/** 0 = receive addresses, 1 = change addresses (BIP44 "chain"). */
export type Chain = 0 | 1;

export interface DerivedKey {
  readonly chain: Chain;
  readonly index: number;
  readonly publicKey: Uint8Array;
  /** scriptPubKey as lowercase hex, the wallet's lookup key. */
  readonly script: string;
  readonly address: string;
}

/** The BIP84 account `m/84'/coin'/0'` of a BIP39 seed. */
export class Account {
  readonly network: BitcoinNetwork;
  readonly #account: HDKey;

  constructor(seed: Uint8Array, network: BitcoinNetwork) {
    this.network = network;
    const coin = network === 'mainnet' ? 0 : 1;
    this.#account = HDKey.fromMasterSeed(seed).derive(`m/84'/${coin}'/0'`);
  }

  /** Public data of key `chain/index`. */
  key(chain: Chain, index: number): DerivedKey {
    const publicKey = this.#node(chain, index).publicKey!;
    const p = payments.p2wpkh({ pubkey: publicKey, network: NETWORKS[this.network] });
    return {
      chain,
      index,
      publicKey,
      script: Buffer.from(p.output!).toString('hex'),
      address: p.address!,
    };
  }

  /** Private key of `chain/index`; only the signer asks for it. */
  privateKey(chain: Chain, index: number): Uint8Array {
    return this.#node(chain, index).privateKey!;
  }

  #node(chain: Chain, index: number): HDKey {
    return this.#account.deriveChild(chain).deriveChild(index);
  }
}

/**
 * The output script of `address` on `network`, or {@link InvalidAddressError} saying what is
 * wrong: malformed, or valid but for another network (the mistake that loses coins).
 */
export function outputScript(address: string, network: BitcoinNetwork): Uint8Array {
  try {
    return baddress.toOutputScript(address, NETWORKS[network]);
  } catch {
    for (const [name, other] of Object.entries(NETWORKS)) {
      if (name === network) continue;
      try {
        baddress.toOutputScript(address, other);
        throw new InvalidAddressError(
          `${address} is a ${name} address; this node runs on ${network}`,
        );
      } catch (e) {
        if (e instanceof InvalidAddressError) throw e;
      }
    }
    throw new InvalidAddressError(`'${address}' is not a valid bitcoin address`);
  }
}
