/**
 * Where the UI may listen, and the name of its session cookie.
 *
 * The UI server speaks plain HTTP: the password and the session cookie cross the wire in the
 * clear. So it listens on loopback only (127.0.0.0/8, ::1, `localhost`) unless told
 * `--unsafe-listen`. To reach a node from elsewhere, keep `--ui-host 127.0.0.1` and put a
 * TLS-terminating reverse proxy (nginx, Caddy…) on the same machine in front of it, or an SSH
 * tunnel (`ssh -L 8000:127.0.0.1:8000 host`); `--unsafe-listen` is for a proxy on another host of
 * a private network you trust.
 *
 * Browsers scope cookies by host, not port: two nodes on 127.0.0.1 (ports 8000 and 8001) share
 * cookies. Each node's session cookie is therefore named after its data directory
 * ({@link sessionCookieName}), so one node never receives, nor overwrites, another's session.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { resolve } from 'node:path';

/** The UI host is not loopback and `--unsafe-listen` was not given. */
export class UnsafeListenError extends Error {
  readonly host: string;
  constructor(host: string) {
    super(
      `refusing to serve the UI on ${host || '(all interfaces)'}: it is not a loopback address ` +
        '(127.0.0.1, ::1, localhost) and the UI has no TLS, so its password and session cookie ' +
        'would cross the network in the clear. Keep --ui-host 127.0.0.1 behind a TLS-terminating ' +
        'reverse proxy or an SSH tunnel, or pass --unsafe-listen if you know what fronts it',
    );
    this.name = 'UnsafeListenError';
    this.host = host;
  }
}

/** True for 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z or in brackets) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost' || h === 'localhost.') return true;
  const v = isIP(h);
  if (v === 4) return h.startsWith('127.');
  if (v === 6) {
    const mapped = /^(?:::|(?:0{1,4}:){5})ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (mapped) return mapped[1]!.startsWith('127.');
    return expandIpv6(h) === '0000:0000:0000:0000:0000:0000:0000:0001';
  }
  return false;
}

/** Throws {@link UnsafeListenError} if `host` is not loopback and `unsafeListen` is not set. */
export function checkUiHost(host: string, unsafeListen = false): void {
  if (!unsafeListen && !isLoopbackHost(host)) throw new UnsafeListenError(host);
}

/** Prefix of every node's session cookie name. */
export const SESSION_COOKIE_PREFIX = 'dlcfd_session_';

/**
 * The session cookie of the node whose data directory is `datadir`:
 * `dlcfd_session_<first 8 hex of sha256 of its absolute path>`.
 */
export function sessionCookieName(datadir: string): string {
  const digest = createHash('sha256').update(resolve(datadir)).digest('hex');
  return `${SESSION_COOKIE_PREFIX}${digest.slice(0, 8)}`;
}

function expandIpv6(h: string): string {
  const [head, tail] = h.includes('::') ? h.split('::') : [h, undefined];
  const a = head ? head.split(':') : [];
  const b = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - a.length - b.length).fill('0');
  return [...a, ...zeros, ...b].map((g) => g.padStart(4, '0')).join(':');
}
