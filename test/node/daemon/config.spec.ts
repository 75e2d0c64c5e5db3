import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../../node/daemon/config.ts';
import { tempDirEach } from '../../helpers/cfd-fixtures.ts';

const KEY = 'ddd4636845a90185991826be5a494cde9f4a6947b1727217afedc6292fa4caf7';

describe('node/daemon/config', () => {
  const dir = tempDirEach();

  it('fills production defaults', async () => {
    const c = await loadConfig({ role: 'taker', flags: { datadir: dir.path } });
    assert.equal(c.network, 'mainnet');
    assert.equal(c.time.settlementIntervalSecs, 86_400);
    assert.equal(c.time.cetTimelockBlocks, 12);
    assert.equal(c.time.refundTimelockBlocks, 216);
    assert.equal(c.time.offerMaxAgeSecs, 600);
    assert.equal(c.p2p.muxer, 'yamux');
    assert.deepEqual(c.ui, {
      host: '127.0.0.1',
      port: 8000,
      unsafeListen: false,
      allowedHosts: [],
    });
    assert.equal(c.allowInsecureDatadir, false, 'an insecure datadir is refused by default');
  });

  it('a maker offers BTCUSD unless --products (or DLCFD_PRODUCTS) names more', async () => {
    const plain = await loadConfig({ role: 'maker', flags: { datadir: dir.path } });
    assert.deepEqual(plain.maker.products, ['BTCUSD']);
    const both = await loadConfig({
      role: 'maker',
      flags: { datadir: dir.path, products: 'BTCUSD,ETHUSD' },
    });
    assert.deepEqual(both.maker.products, ['BTCUSD', 'ETHUSD']);
    const env = await loadConfig({
      role: 'maker',
      flags: { datadir: dir.path },
      env: { DLCFD_PRODUCTS: 'ETHUSD' },
    });
    assert.deepEqual(env.maker.products, ['ETHUSD']);
  });

  it('--allow-insecure-datadir and --unsafe-listen are switches (flag or environment)', async () => {
    const flags = await loadConfig({
      role: 'taker',
      flags: { datadir: dir.path, 'allow-insecure-datadir': true, 'unsafe-listen': true },
    });
    assert.equal(flags.allowInsecureDatadir, true);
    assert.equal(flags.ui.unsafeListen, true);
    const env = await loadConfig({
      role: 'taker',
      flags: { datadir: dir.path },
      env: { DLCFD_ALLOW_INSECURE_DATADIR: 'true', DLCFD_UNSAFE_LISTEN: '1' },
    });
    assert.equal(env.allowInsecureDatadir, true);
    assert.equal(env.ui.unsafeListen, true);
  });

  it('flags beat the environment, which beats the config file, which beats defaults', async () => {
    await writeFile(
      join(dir.path, 'dlcfd.json'),
      JSON.stringify({
        network: 'testnet',
        time: { settlementIntervalSecs: 600, rolloverIntervalSecs: 60 },
        oracle: { url: 'https://file.example', publicKey: KEY },
      }),
    );
    const c = await loadConfig({
      role: 'maker',
      flags: { datadir: dir.path, 'settlement-interval': '120', listen: ['/ip4/127.0.0.1/tcp/0'] },
      env: {
        DLCFD_NETWORK: 'regtest',
        DLCFD_SETTLEMENT_INTERVAL: '300',
        DLCFD_AUTO_ACCEPT: 'true',
      },
    });
    assert.equal(c.network, 'regtest'); // env over file
    assert.equal(c.time.settlementIntervalSecs, 120); // flag over env and file
    assert.equal(c.time.rolloverIntervalSecs, 60); // file over default
    assert.equal(c.oracle?.url, 'https://file.example');
    assert.equal(c.maker.autoAccept, true);
    assert.deepEqual(c.p2p.listen, ['/ip4/127.0.0.1/tcp/0']);
  });

  it('requires the announcement key off regtest, naming --oracle-announcement-key', async () => {
    const oracle = { oracle: 'https://h00.ooo', 'oracle-public-key': KEY };
    for (const network of ['mainnet', 'testnet']) {
      await assert.rejects(
        loadConfig({ role: 'taker', flags: { datadir: dir.path, network, ...oracle } }),
        {
          name: 'ConfigError',
          message: /oracle\.announcementKey: required .*--oracle-announcement-key/,
        },
      );
    }
    const withKey = await loadConfig({
      role: 'taker',
      flags: { datadir: dir.path, ...oracle, 'oracle-announcement-key': KEY },
    });
    assert.equal(withKey.oracle?.announcementKey, KEY);
    const regtest = await loadConfig({
      role: 'taker',
      flags: { datadir: dir.path, network: 'regtest', ...oracle },
    });
    assert.equal(regtest.oracle?.announcementKey, undefined);
  });

  it('requires https for an oracle off loopback', async () => {
    const flags = (url: string) => ({
      datadir: dir.path,
      network: 'regtest',
      oracle: url,
      'oracle-public-key': KEY,
    });
    for (const url of ['http://h00.ooo', 'http://10.0.0.7:8080', 'ftp://127.0.0.1/']) {
      await assert.rejects(loadConfig({ role: 'taker', flags: flags(url) }), {
        name: 'ConfigError',
        message: /oracle\.url: .* must be https \(--oracle\)/,
      });
    }
    for (const url of [
      'http://127.0.0.1:8080',
      'http://localhost:1',
      'http://[::1]:2',
      'https://h00.ooo',
    ]) {
      const c = await loadConfig({ role: 'taker', flags: flags(url) });
      assert.equal(c.oracle?.url, url);
    }
  });

  it('takes the quote staleness bound (default 75 s: one BitMEX bin and transit) from --max-quote-age', async () => {
    const c = await loadConfig({ role: 'taker', flags: { datadir: dir.path } });
    assert.equal(c.pricefeed.maxQuoteAgeSecs, 75);
    const d = await loadConfig({
      role: 'taker',
      flags: { datadir: dir.path, 'max-quote-age': '20' },
    });
    assert.equal(d.pricefeed.maxQuoteAgeSecs, 20);
  });

  it('--bootstrap (repeatable, env comma-separated), --announce-interval, --maker-timeout', async () => {
    const id = '12D3KooWGzBq9mJ5iF6W4V5T6f1hZuKpXbZbJ3yR3m5VfUZ2o9Xz';
    const c = await loadConfig({
      role: 'taker',
      flags: { datadir: dir.path, 'maker-timeout': '4' },
      env: { DLCFD_BOOTSTRAP: `/ip4/127.0.0.1/tcp/1/p2p/${id},/ip4/127.0.0.1/tcp/2/p2p/${id}` },
    });
    assert.equal(c.p2p.bootstrap.length, 2);
    assert.equal(c.p2p.makerTimeoutSecs, 4);
    assert.equal(c.p2p.announceIntervalSecs, 60);
    await assert.rejects(
      loadConfig({
        role: 'maker',
        flags: { datadir: dir.path, bootstrap: ['/ip4/127.0.0.1/tcp/1'] },
      }),
      { name: 'ConfigError', message: /p2p.bootstrap.0: .* must end in \/p2p\/<peer id>/ },
    );
  });

  it('refuses bad values, naming the setting and where it came from', async () => {
    await assert.rejects(loadConfig({ role: 'taker', flags: {} }), {
      name: 'ConfigError',
      message: /datadir/,
    });
    await assert.rejects(
      loadConfig({ role: 'taker', flags: { datadir: dir.path, 'cet-timelock': 'twelve' } }),
      { name: 'ConfigError', message: /--cet-timelock: 'twelve' is not a whole number/ },
    );
    await assert.rejects(
      loadConfig({ role: 'taker', flags: { datadir: dir.path }, env: { DLCFD_NETWORK: 'signet' } }),
      { name: 'ConfigError', message: /network/ },
    );
    await assert.rejects(
      loadConfig({ role: 'taker', flags: { datadir: dir.path, maker: ['/ip4/127.0.0.1/tcp/1'] } }),
      { name: 'ConfigError', message: /must end in \/p2p\/<maker peer id>/ },
    );
    await assert.rejects(
      loadConfig({
        role: 'taker',
        flags: { datadir: dir.path, 'oracle-public-key': 'abc', oracle: 'http://x' },
      }),
      { name: 'ConfigError', message: /oracle.publicKey/ },
    );
    await assert.rejects(
      loadConfig({
        role: 'taker',
        flags: { datadir: dir.path },
        configFile: join(dir.path, 'missing.json'),
      }),
      { name: 'ConfigError', message: /missing.json/ },
    );
    await assert.rejects(
      loadConfig({ role: 'maker', flags: { datadir: dir.path, products: 'BTCUSD,DOGEUSD' } }),
      { name: 'ConfigError', message: /maker.products/ },
    );
    // The limits of the maker policy API: a config it would refuse does not start.
    await assert.rejects(
      loadConfig({ role: 'maker', flags: { datadir: dir.path, spread: '5000' } }),
      { name: 'ConfigError', message: /spreadBps/ },
    );
  });

  it('takes a block explorer URL with {txid} from a flag, the environment or the file', async () => {
    const url = 'https://explorer.example/tx/{txid}';
    const fromFlag = await loadConfig({
      role: 'taker',
      flags: { datadir: dir.path, 'explorer-url': url },
    });
    assert.equal(fromFlag.ui.explorerUrl, url);
    const fromEnv = await loadConfig({
      role: 'taker',
      flags: { datadir: dir.path },
      env: { DLCFD_EXPLORER_URL: url },
    });
    assert.equal(fromEnv.ui.explorerUrl, url);
    await writeFile(join(dir.path, 'dlcfd.json'), JSON.stringify({ ui: { explorerUrl: url } }));
    const fromFile = await loadConfig({ role: 'taker', flags: { datadir: dir.path } });
    assert.equal(fromFile.ui.explorerUrl, url);
    await assert.rejects(
      loadConfig({
        role: 'taker',
        flags: { datadir: dir.path, 'explorer-url': 'https://explorer.example/tx/' },
      }),
      { name: 'ConfigError', message: /ui\.explorerUrl: must contain \{txid\}/ },
    );
    await assert.rejects(
      loadConfig({
        role: 'taker',
        flags: { datadir: dir.path, 'explorer-url': 'javascript:alert({txid})' },
      }),
      { name: 'ConfigError', message: /ui\.explorerUrl/ },
    );
  });

  it('takes more UI host names from a repeated --ui-allowed-host or a comma list', async () => {
    const fromFlags = await loadConfig({
      role: 'taker',
      flags: { datadir: dir.path, 'ui-allowed-host': ['node.lan', 'proxy.example:443'] },
    });
    assert.deepEqual(fromFlags.ui.allowedHosts, ['node.lan', 'proxy.example:443']);
    const fromEnv = await loadConfig({
      role: 'taker',
      flags: { datadir: dir.path },
      env: { DLCFD_UI_ALLOWED_HOST: 'node.lan,[fd00::1]:8000' },
    });
    assert.deepEqual(fromEnv.ui.allowedHosts, ['node.lan', '[fd00::1]:8000']);
    await assert.rejects(
      loadConfig({
        role: 'taker',
        flags: { datadir: dir.path, 'ui-allowed-host': ['http://node.lan/'] },
      }),
      { name: 'ConfigError', message: /ui\.allowedHosts\.0: must be a host name/ },
    );
  });
});
