/** Helpers for the price feed specs: polling with a deadline, a frame-collecting probe, tiny servers. */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { untilWithin } from '../../helpers/wait.ts';

/** {@link untilWithin | until} for the feed and oracle specs: 3 s by default, polled every 5 ms. */
export const until = untilWithin(3_000, 5);

/** A raw websocket client that records every text frame. */
export interface Probe {
  ws: WebSocket;
  frames: string[];
  /** Parsed JSON frames (non-JSON ones as their text). */
  json(): unknown[];
  close(): void;
}

export async function probe(url: string): Promise<Probe> {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(data.toString()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    json: () =>
      frames.map((f) => {
        try {
          return JSON.parse(f) as unknown;
        } catch {
          return f;
        }
      }),
    close: () => ws.terminate(),
  };
}

/** A websocket server on loopback whose behaviour the test scripts per connection. */
export interface ScriptedServer {
  url: string;
  port: number;
  wss: WebSocketServer;
  /** Text frames received from clients. */
  received: string[];
  close(): Promise<void>;
}

export async function scriptedServer(
  onConnection: (ws: WebSocket) => void,
): Promise<ScriptedServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const received: string[] = [];
  wss.on('connection', (ws) => {
    ws.on('message', (data) => received.push(data.toString()));
    onConnection(ws);
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/realtime`,
    port,
    wss,
    received,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** A pino logger whose JSON lines land in `lines`. */
export function capturingLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => raw.push(s) });
  return { logger, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Active `Timeout` handles of this process (mocha's own test timer included). */
export function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}
