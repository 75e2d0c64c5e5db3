/**
 * A self-signed certificate for a service reached by name (the oracle behind tls-proxy.ts), made
 * with the `openssl` command: Node can use certificates but not make them. The certificate is its
 * own trust anchor: clients get it through NODE_EXTRA_CA_CERTS.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface SelfSigned {
  /** PEM certificate (and the CA clients trust). */
  readonly cert: string;
  /** PEM private key (PKCS#8). */
  readonly key: string;
}

/** Makes an EC P-256 certificate valid for `names` (DNS) for `days`, in `dir` (cert.pem, key.pem). */
export async function selfSignedCert(
  dir: string,
  names: readonly string[],
  days = 30,
): Promise<SelfSigned & { certFile: string; keyFile: string }> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    String(days),
    '-subj',
    `/CN=${names[0]}`,
    '-addext',
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return {
    cert: await readFile(certFile, 'utf8'),
    key: await readFile(keyFile, 'utf8'),
    certFile,
    keyFile,
  };
}
