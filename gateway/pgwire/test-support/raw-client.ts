/** A test client speaking raw protocol bytes over a net.Socket. */
import * as net from 'node:net';
import { fe, parseBackend, splitBackendFrames, type ParsedBackend } from './frontend';

const WAIT_MS = 10_000;

export class RawClient {
  private buffer: Buffer = Buffer.alloc(0);
  private notify: (() => void) | undefined;
  private ended = false;
  /** Every byte received, for "nothing was sent" assertions. */
  received = 0;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Connects and completes a trust-mode startup; returns the BackendKeyData. */
  static async ready(
    port: number,
    parameters: Record<string, string> = { user: 'alice', database: 'cairn' },
  ): Promise<{ client: RawClient; processId: number; secretKey: number }> {
    const client = await RawClient.connect(port);
    client.send(fe.startup(parameters));
    const messages = await client.untilReady();
    const key = messages.find((m) => m.type === 'K');
    if (key?.type !== 'K') {
      throw new Error(`no BackendKeyData in ${JSON.stringify(messages.map((m) => m.type))}`);
    }
    return { client, processId: key.processId, secretKey: key.secretKey };
  }

  private wake(): void {
    const notify = this.notify;
    this.notify = undefined;
    notify?.();
  }

  private async waitForBytes(): Promise<void> {
    if (this.ended) {
      throw new Error('connection closed');
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (this.notify = resolve)),
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out waiting for the server')), WAIT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  send(...parts: Buffer[]): void {
    this.socket.write(Buffer.concat(parts));
  }

  /** One raw byte (the answer to SSLRequest/GSSENCRequest). */
  async readByte(): Promise<string> {
    while (this.buffer.length === 0) {
      await this.waitForBytes();
    }
    const byte = String.fromCharCode(this.buffer[0]!);
    this.buffer = this.buffer.subarray(1);
    return byte;
  }

  /** The next backend message; throws when the connection closes first. */
  async next(): Promise<ParsedBackend> {
    while (true) {
      if (this.buffer.length >= 5) {
        const end = 1 + this.buffer.readInt32BE(1);
        if (this.buffer.length >= end) {
          const { frames } = splitBackendFrames(this.buffer.subarray(0, end));
          this.buffer = this.buffer.subarray(end);
          return parseBackend(frames[0]!);
        }
      }
      await this.waitForBytes();
    }
  }

  /** Messages up to and including the first of `type`. */
  async until(type: ParsedBackend['type']): Promise<ParsedBackend[]> {
    const messages: ParsedBackend[] = [];
    while (true) {
      const message = await this.next();
      messages.push(message);
      if (message.type === type) {
        return messages;
      }
    }
  }

  untilReady(): Promise<ParsedBackend[]> {
    return this.until('Z');
  }

  /** Everything the server sends until it closes the connection. */
  async drainToClose(): Promise<ParsedBackend[]> {
    const messages: ParsedBackend[] = [];
    while (true) {
      try {
        messages.push(await this.next());
      } catch (err) {
        if (this.ended) {
          return messages;
        }
        throw err;
      }
    }
  }

  get isClosed(): boolean {
    return this.ended;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Compact form of a message list for assertions: types, plus tags and codes. */
export function summarize(messages: readonly ParsedBackend[]): string[] {
  return messages.map((m) => {
    switch (m.type) {
      case 'C':
        return `C:${m.tag}`;
      case 'E':
      case 'N':
        return `${m.type}:${m.fields['C']}`;
      case 'Z':
        return `Z:${m.status}`;
      case 'D':
        return `D:${m.values.map(showValue).join(',')}`;
      default:
        return m.type;
    }
  });
}

function showValue(value: Buffer | null): string {
  if (value === null) {
    return 'NULL';
  }
  return value.every((b) => b >= 0x20 && b < 0x7f) ? value.toString('latin1') : `0x${value.toString('hex')}`;
}
