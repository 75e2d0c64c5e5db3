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
    static flags: { STANDARD_VERIFY_FLAGS: number };
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

  interface Outpoint {
    /** Internal byte order, hex. */
    hash: string;
    index: number;
  }

  interface Input {
    prevout: Outpoint;
  }

  /** Coins a transaction spends, from the mempool's point of view. */
  interface CoinView {
    readonly _brand?: 'CoinView';
  }

  class TX {
    inputs: Input[];
    outputs: Output[];
    static fromRaw(data: Buffer): TX;
    txid(): string;
    /** Witness txid, RPC byte order. */
    wtxid(): string;
    hash(enc: 'hex'): string;
    toRaw(): Buffer;
    getWeight(): number;
    getVirtualSize(): number;
    hasCoins(view: CoinView): boolean;
    getFee(view: CoinView): number;
    getSigopsCost(view: CoinView, flags: number): number;
    /** Virtual size with Core's sigop adjustment. */
    getSigopsSize(sigops: number): number;
    isFinal(height: number, time: number): boolean;
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
    addCoin(coin: Coin): unknown;
    getVirtualSize(): number;
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
    getMedianTime(prev: ChainEntry): Promise<number>;
  }

  /** A mempool transaction with what bcoin computed when it accepted it. */
  interface MempoolEntry {
    tx: TX;
    /** Virtual size (sigop-adjusted). */
    size: number;
    /** Fee, sat. */
    fee: number;
    sigops: number;
    getDeltaFee(): number;
    hash(enc: 'hex'): string;
  }

  interface Mempool extends Closable {
    /** Hash of the block the mempool was last updated for; mining asserts it is the chain tip. */
    tip: string;
    map: Map<string, MempoolEntry>;
    options: { relayPriority: boolean; limitFree: boolean; maxSize: number };
    reset(): Promise<void>;
    getEntry(hash: string): MempoolEntry | undefined;
    getCoinView(tx: TX): Promise<CoinView>;
    /** Contextual checks of a new entry (fees, scripts); throws bcoin's `VerifyError`. */
    verify(entry: MempoolEntry, view: CoinView): Promise<void>;
    /** The mempool entry spending the output, if any. */
    getSpent(hash: string, index: number): MempoolEntry | undefined;
    getDescendants(entry: MempoolEntry): MempoolEntry[];
    /** Removes the entry and, recursively, its spenders. */
    evictEntry(entry: MempoolEntry): void;
    /** Memory usage estimate, bytes. */
    getSize(): number;
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

  /** A block being assembled (bcoin's `BlockTemplate`). */
  interface BlockTemplate {
    height: number;
    /** Time transactions' locktimes are checked against (median time past). */
    locktime: number;
    weight: number;
    sigops: number;
    fees: number;
    items: { tx: TX; hash: string; fee: number; sigops: number }[];
    refresh(): void;
  }

  interface Miner extends Closable {
    mineBlock(tip: ChainEntry | null, address: Address): Promise<Block>;
    /** Chooses the template's transactions; the embedded chain replaces it. */
    assemble(attempt: BlockTemplate): void;
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
    BlockTemplate,
    Coin,
    FullNode,
    FullNodeOptions,
    KeyRing,
    MempoolEntry,
    MTX,
    Network,
    NodeHttp,
    Script,
    TX,
  };
}
