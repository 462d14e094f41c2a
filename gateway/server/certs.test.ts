import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readServerCertificate } from './certs';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-certs-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const write = (name: string, text = name): void => fs.writeFileSync(path.join(dir, name), text);

test("the operator's Secret layout (tls.crt, tls.key, ca.crt)", () => {
  write('ca.crt');
  write('tls.crt', 'CERT');
  write('tls.key', 'KEY');
  expect(readServerCertificate(dir)).toEqual({
    certFile: path.join(dir, 'tls.crt'),
    keyFile: path.join(dir, 'tls.key'),
    cert: Buffer.from('CERT'),
    key: Buffer.from('KEY'),
  });
});

test('server.crt comes before node.crt, which comes before tls.crt', () => {
  for (const name of ['tls.crt', 'tls.key', 'node.crt', 'node.key']) write(name);
  expect(readServerCertificate(dir).certFile).toBe(path.join(dir, 'node.crt'));
  write('server.crt');
  write('server.key');
  expect(readServerCertificate(dir)).toMatchObject({ certFile: path.join(dir, 'server.crt'), key: Buffer.from('server.key') });
});

test('half a pair, an empty folder and a missing folder are errors', () => {
  write('node.crt');
  expect(() => readServerCertificate(dir)).toThrow(/has node\.crt but not node\.key/);
  fs.rmSync(path.join(dir, 'node.crt'));
  write('ca.crt');
  expect(() => readServerCertificate(dir)).toThrow(/holds no certificate for the gateway \(looked for server\.crt\/server\.key, node\.crt\/node\.key, tls\.crt\/tls\.key\)/);
  expect(() => readServerCertificate(path.join(dir, 'absent'))).toThrow(/--certs-dir .*absent: ENOENT/);
});
