/**
 * Minimal types for the parts of bcoin 1.0.2 the embedded regtest node uses (bcoin ships no
 * types). Only what `embedded.ts` touches is declared; widen it when you use more.
 */
declare module 'bcoin' {
  import type { EventEmitter } from 'node:events';
  import type { AddressInfo } from 'node:net';

  interface AddressPrefix {
    pubkeyhash: number;
    scripthash: number;
    witnesspubkeyhash: number;
    witnessscripthash: number;
    bech32: string;
  }

  interface NetworkParams {
    type: string;
    addressPrefix: AddressPrefix;
    keyPrefix: { privkey: number };
    halvingInterval: number;
  }

  class Network {
    type: string;
    addressPrefix: AddressPrefix;
    static get(type: string): Network;
  }

  class Address {
    static fromString(addr: string, network?: string | Network): Address;
    toString(network?: string | Network): string;
    getHash(enc?: 'hex'): string;
  }

  class Script {
    static fromAddress(addr: Address | string): Script;
    toRaw(): Buffer;
  }

  class KeyRing {
    witness: boolean;
    static generate(compress?: boolean): KeyRing;
    static fromPrivate(key: Buffer, compress?: boolean): KeyRing;
    getPrivateKey(): Buffer;
    getAddress(): Address;
  }

  class Coin {
    hash: string;
    index: number;
    value: number;
    height: number;
    coinbase: boolean;
  }

  class Output {
    value: number;
    script: Script;
  }

  class TX {
    outputs: Output[];
    static fromRaw(data: Buffer): TX;
    txid(): string;
    hash(enc: 'hex'): string;
    toRaw(): Buffer;
  }

  interface FundOptions {
    rate?: number;
    changeAddress?: Address;
    height?: number;
    selection?: 'all' | 'random' | 'age' | 'value';
    subtractFee?: boolean;
  }

  class MTX {
    outputs: Output[];
    addOutput(addr: Address | Script, value: number): Output;
    fund(coins: Coin[], options?: FundOptions): Promise<unknown>;
    sign(ring: KeyRing | KeyRing[]): number;
    toTX(): TX;
  }

  interface ChainEntry {
    height: number;
    /** Internal byte order, hex. */
    hash: string;
    rhash(): string;
  }

  interface Block {
    txs: TX[];
  }

  /** The LevelDB binding under bcoin's database wrapper (leveldown when on disk). */
  interface LevelBinding {
    iterator(options: Record<string, unknown>): unknown;
  }

  /** Any of the node's parts: each opens and closes on its own. */
  interface Closable {
    close(): Promise<void>;
  }

  interface Chain extends Closable {
    db: { db: { binding: LevelBinding } };
    height: number;
    tip: ChainEntry;
    state: { hasWitness(): boolean; hasCSV(): boolean };
    add(block: Block): Promise<ChainEntry | null>;
    getEntry(hash: string): Promise<ChainEntry | null>;
    getHash(height: number): Promise<string | null>;
    getBlock(hash: string): Promise<Block | null>;
    invalidate(hash: string): Promise<void>;
  }

  interface Mempool extends Closable {
    /** Hash of the block the mempool was last updated for; mining asserts it is the chain tip. */
    tip: string;
    map: Map<string, { tx: TX }>;
    reset(): Promise<void>;
    addTX(tx: TX): Promise<string[] | null>;
    hasOrphan(hash: string): boolean;
    removeOrphan(hash: string): boolean;
    /** True if a mempool transaction spends the output (hash in internal byte order, hex). */
    isSpent(hash: string, index: number): boolean;
  }

  interface Pool extends Closable {
    /** Pending broadcasts, each with a timeout timer until settled. */
    invMap: Map<string, { resolve(): void }>;
  }

  interface Miner extends Closable {
    mineBlock(tip: ChainEntry | null, address: Address): Promise<Block>;
  }

  /** bweb's JSON-RPC dispatcher: method name → handler(params). */
  interface NodeRpc {
    calls: Record<string, (params: unknown[], help?: boolean) => Promise<unknown>>;
  }

  /** bweb's middleware hook; `stack` runs in order for every HTTP request. */
  interface HttpHook {
    path: string;
    handler: unknown;
  }

  interface NodeHttp {
    stack: HttpHook[];
    use(handler: unknown): void;
    basicAuth(options: { username?: string; password: string; realm?: string }): unknown;
    address(): AddressInfo;
  }

  interface FullNodeOptions {
    network: string;
    memory: boolean;
    prefix?: string;
    workers?: boolean;
    logLevel?: string;
    logConsole?: boolean;
    logFile?: boolean;
    indexTX?: boolean;
    indexAddress?: boolean;
    requireStandard?: boolean;
    replaceByFee?: boolean;
    listen?: boolean;
    httpHost?: string;
    httpPort?: number;
    apiKey?: string;
    noAuth?: boolean;
  }

  class FullNode extends EventEmitter {
    network: Network;
    chain: Chain;
    mempool: Mempool;
    miner: Miner;
    pool: Pool;
    rpc: NodeRpc;
    http: NodeHttp;
    constructor(options: FullNodeOptions);
    ensure(): Promise<void>;
    open(): Promise<void>;
    close(): Promise<void>;
    getCoinsByAddress(addrs: Address[]): Promise<Coin[]>;
  }

  const bcoin: {
    FullNode: typeof FullNode;
    KeyRing: typeof KeyRing;
    MTX: typeof MTX;
    TX: typeof TX;
    Address: typeof Address;
    Script: typeof Script;
    Network: typeof Network;
    networks: Record<string, NetworkParams>;
  };
  export default bcoin;
  export type {
    Address,
    Block,
    Coin,
    FullNode,
    FullNodeOptions,
    KeyRing,
    MTX,
    Network,
    NodeHttp,
    TX,
  };
}
