// A TLS-terminating TCP proxy, for the research deployments: dlcfd nodes accept a plain-http oracle
// on loopback only (node/daemon/config.ts), so an oracle reached by name on another host sits
// behind this, with a certificate the nodes trust through NODE_EXTRA_CA_CERTS. It is the same
// process in a network namespace (netns.ts) and in the oracle's pod (k8s.ts).
//
//   node research/deploy/tls-proxy.ts --listen HOST:PORT --to HOST:PORT --cert FILE --key FILE
//
// Prints the ready line `listening HOST:PORT` once it accepts connections; stops on SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createServer } from 'node:tls';
import { parseArgs } from 'node:util';

/** `host:port` (an IPv6 host in brackets) → its parts. */
export function hostPort(text: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65_535) throw new Error(`'${text}' is not host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string' },
      to: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
    },
  });
  if (!values.listen || !values.to || !values.cert || !values.key) {
    process.stderr.write(
      'usage: tls-proxy.ts --listen HOST:PORT --to HOST:PORT --cert FILE --key FILE\n',
    );
    process.exit(2);
  }
  const listen = hostPort(values.listen);
  const to = hostPort(values.to);
  const server = createServer(
    { cert: readFileSync(values.cert), key: readFileSync(values.key) },
    (client) => {
      const upstream = connect(to.port, to.host);
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
    },
  );
  server.listen(listen.port, listen.host, () => {
    process.stdout.write(`listening ${values.listen}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.main) main();
