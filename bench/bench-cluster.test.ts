import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitForQuietStorage } from './bench-cluster';

describe('waitForQuietStorage', () => {
  let server: http.Server;
  let answers: string[];
  let address: string;

  beforeEach(async () => {
    answers = [];
    server = http.createServer((_req, res) => res.end(answers.length > 1 ? answers.shift() : answers[0]));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const metrics = (pending: number, compactions: number, flushes: number): string =>
    `cairn_storage_pending_compaction_bytes ${pending}\ncairn_storage_running_compactions ${compactions}\ncairn_storage_running_flushes ${flushes}\n`;

  it('returns once no node owes compaction or runs a flush or compaction', async () => {
    answers = [metrics(5_000_000, 1, 0), metrics(0, 0, 1), metrics(0, 0, 0)];
    const quiet = await waitForQuietStorage('test', [address], 60_000);
    expect(quiet.left).toEqual({ pendingCompactionBytes: 0, running: 0 });
    // Two polls found work going on.
    expect(quiet.waitedMs).toBeGreaterThanOrEqual(900);
  });

  it('gives up at its timeout and says what was left', async () => {
    answers = [metrics(7, 0, 0)];
    const quiet = await waitForQuietStorage('test', [address, address], 600);
    expect(quiet.left).toEqual({ pendingCompactionBytes: 14, running: 0 });
    expect(quiet.waitedMs).toBeGreaterThanOrEqual(600);
  });
});
