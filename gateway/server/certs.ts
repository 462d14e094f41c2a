/**
 * The gateway's TLS certificate and key from a certificates folder. The names a folder
 * may use, in the order they are tried: `server.crt`/`server.key` (a certificate made for
 * the gateway), `node.crt`/`node.key` (CockroachDB's layout, one certificate for nodes
 * and gateways), `tls.crt`/`tls.key` (a kubernetes.io/tls Secret as the operator mounts
 * it at $CAIRN_CERTS_DIR).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../../common/errors';

export const CERT_PAIRS: readonly (readonly [cert: string, key: string])[] = [
  ['server.crt', 'server.key'],
  ['node.crt', 'node.key'],
  ['tls.crt', 'tls.key'],
];

export interface ServerCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Reads the first complete pair in `dir`; a folder without one, or half a pair, is an error. */
export function readServerCertificate(dir: string): ServerCertificate {
  let names: Set<string>;
  try {
    names = new Set(fs.readdirSync(dir));
  } catch (err) {
    throw new InvalidArgumentError(`--certs-dir ${dir}: ${(err as Error).message}`);
  }
  for (const [certName, keyName] of CERT_PAIRS) {
    const hasCert = names.has(certName);
    const hasKey = names.has(keyName);
    if (hasCert !== hasKey) {
      throw new InvalidArgumentError(`${dir} has ${hasCert ? certName : keyName} but not ${hasCert ? keyName : certName}`);
    }
    if (hasCert) {
      const certFile = path.join(dir, certName);
      const keyFile = path.join(dir, keyName);
      return { certFile, keyFile, cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
    }
  }
  throw new InvalidArgumentError(
    `${dir} holds no certificate for the gateway (looked for ${CERT_PAIRS.map(([c, k]) => `${c}/${k}`).join(', ')})`,
  );
}
