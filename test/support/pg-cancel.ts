import * as net from 'node:net';
import type { Client } from 'pg';

/** The CancelRequest code (PostgreSQL's protocol: 1234 in the high 16 bits, 5678 in the low). */
const CANCEL_REQUEST_CODE = 80877102;

/**
 * Sends a CancelRequest for `client`'s session (the key its BackendKeyData gave) on a
 * connection of its own to host:port, as psql does on Ctrl-C; resolves once the server
 * has closed that connection (it answers nothing).
 */
export async function sendCancelRequest(host: string, port: number, client: Client): Promise<void> {
  const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
  const request = Buffer.alloc(16);
  request.writeInt32BE(16, 0);
  request.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  request.writeInt32BE(processID, 8);
  request.writeInt32BE(secretKey, 12);
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, host, () => socket.end(request));
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}
