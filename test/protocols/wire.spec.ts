// Framing over real libp2p connections (TCP + noise, yamux and mplex): schema-checked messages,
// size limits, timeouts, and many streams over one connection.
import assert from 'node:assert/strict';
import type { Stream } from '@libp2p/interface';
import { z } from 'zod';
import { price } from '../../model/units.ts';
import { loadOrCreateIdentity } from '../../node/p2p/identity.ts';
import { createP2pNode, type Muxer, type P2pNode } from '../../node/p2p/node.ts';
import { decode, encode, Framed, priceSchema, satsSchema } from '../../protocols/wire.ts';
import { tempDir } from '../helpers/cfd-fixtures.ts';

const PROTOCOL = '/dlcfd/test-echo/1.0.0';
const Ping = z.object({ type: z.literal('ping'), n: z.number().int(), amount: satsSchema });
const Pong = z.object({ type: z.literal('pong'), n: z.number().int(), amount: satsSchema });

describe('protocols/wire', () => {
  it('encodes amounts as decimal strings and validates them back', () => {
    const bytes = encode({ type: 'ping', n: 1, amount: 2n ** 53n + 1n });
    assert.equal(
      new TextDecoder().decode(bytes),
      '{"type":"ping","n":1,"amount":"9007199254740993"}',
    );
    assert.deepEqual(decode(bytes, Ping), { type: 'ping', n: 1, amount: 2n ** 53n + 1n });
    assert.throws(() => decode(encode({ type: 'ping', n: 1, amount: 1.5 }), Ping), {
      name: 'ProtocolViolationError',
      message: /amount/,
    });
    assert.throws(() => decode(new TextEncoder().encode('{nope'), Ping), {
      name: 'ProtocolViolationError',
    });
    assert.equal(priceSchema.parse('42640.5'), price(42640) + 50_000_000n);
    assert.throws(() => priceSchema.parse('0'));
    assert.throws(() => priceSchema.parse('1e5'));
  });

  for (const muxer of ['yamux', 'mplex'] as Muxer[]) {
    describe(`over ${muxer}`, function () {
      this.timeout(30_000);
      let dir: { path: string; cleanup: () => Promise<void> };
      let maker: P2pNode;
      let taker: P2pNode;
      let onStream: (s: Stream) => Promise<void>;

      before(async () => {
        dir = await tempDir();
        maker = await createP2pNode({
          privateKey: await loadOrCreateIdentity(`${dir.path}/maker`),
          listen: ['/ip4/127.0.0.1/tcp/0'],
          muxer,
        });
        taker = await createP2pNode({
          privateKey: await loadOrCreateIdentity(`${dir.path}/taker`),
          muxer,
        });
        await maker.handle(PROTOCOL, (stream) => onStream(stream), { maxInboundStreams: 64 });
      });

      after(async () => {
        await taker.stop();
        await maker.stop();
        await dir.cleanup();
      });

      const open = async (): Promise<Framed> =>
        new Framed(await taker.dialProtocol(maker.getMultiaddrs()[0]!, PROTOCOL), {
          maxMessageBytes: 1024,
        });

      it('exchanges 40 request/response pairs, one stream each, over one connection', async () => {
        onStream = async (stream) => {
          const f = new Framed(stream, { maxMessageBytes: 1024 });
          const m = await f.read(Ping);
          await f.write({ type: 'pong', n: m.n, amount: m.amount * 2n });
          await f.close();
        };
        for (let n = 0; n < 40; n++) {
          const f = await open();
          await f.write({ type: 'ping', n, amount: 21n });
          assert.deepEqual(await f.read(Pong), { type: 'pong', n, amount: 42n });
          await f.close();
        }
        assert.equal(taker.getConnections(maker.peerId).length, 1);
        assert.equal(
          taker.getConnections(maker.peerId)[0]?.multiplexer,
          `/${muxer === 'yamux' ? 'yamux/1.0.0' : 'mplex/6.7.0'}`,
        );
      });

      it('refuses an oversized message and a malformed one, and times out a silent peer', async () => {
        const seen: string[] = [];
        onStream = async (stream) => {
          const f = new Framed(stream, { maxMessageBytes: 1024, timeoutMs: 200 });
          try {
            await f.read(Ping);
          } catch (err) {
            seen.push((err as Error).name);
            f.abort(err as Error);
          }
        };
        const big = await open();
        await big
          .write({ type: 'ping', n: 1, amount: '1', pad: 'x'.repeat(5000) })
          .catch(() => undefined);
        const bad = await open();
        await bad.write({ type: 'ping', n: 'one', amount: '1' });
        await open(); // says nothing
        // A length prefix longer than any allowed length needs: 1, written in 3 varint bytes.
        const overlong = await taker.dialProtocol(maker.getMultiaddrs()[0]!, PROTOCOL);
        overlong.send(Uint8Array.of(0x81, 0x80, 0x00, 0x7b));
        const deadline = Date.now() + 5000;
        while (seen.length < 4 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(seen.sort(), [
          'ProtocolTimeoutError',
          'ProtocolViolationError',
          'ProtocolViolationError',
          'ProtocolViolationError',
        ]);
      });
    });
  }

  it('the node keeps its PeerId across restarts', async () => {
    const dir = await tempDir();
    try {
      const a = await loadOrCreateIdentity(dir.path);
      const b = await loadOrCreateIdentity(dir.path);
      assert.deepEqual(a.publicKey.raw, b.publicKey.raw);
    } finally {
      await dir.cleanup();
    }
  });
});
