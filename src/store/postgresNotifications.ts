import { createHash } from 'node:crypto';
import pg from 'pg';
import { ChannelHandlers } from './channelHandlers.js';

const MAX_RETRY_MS = 1_000;

/**
 * The subscribing side of the PostgreSQL store's pub/sub: one LISTEN connection per store, opened on
 * the first subscribe and reconnected when it breaks (messages sent meanwhile are lost, as with
 * Redis). A LISTEN channel is database-wide, so store channels are hashed together with the schema:
 * stores in other schemas of the same database never see each other's messages.
 */
export class PostgresNotifications {
  private readonly clientConfig: pg.ClientConfig;
  private readonly schema: string;
  private readonly onError: (err: Error) => void;
  /** PostgreSQL channel → its handlers and its LISTEN. */
  private readonly channels = new ChannelHandlers({ open: (name) => this.listen(name), release: (name) => this.unlisten(name) });
  /** The LISTEN connection, while connected or connecting. */
  private listener: Promise<pg.Client> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(clientConfig: pg.ClientConfig, schema: string, onError: (err: Error) => void) {
    this.clientConfig = { ...clientConfig, application_name: `cek-gateway listen ${schema}`.slice(0, 63) };
    this.schema = schema;
    this.onError = onError;
  }

  /** The PostgreSQL channel of a store channel (NOTIFY it to publish). */
  channelName(channel: string): string {
    // Identifiers are cut at 63 bytes: a fixed-length hash keeps long names distinct.
    return `cekgw_${createHash('sha256').update(`${this.schema}\0${channel}`).digest('hex').slice(0, 40)}`;
  }

  /** Resolves once LISTEN is in place, so a message published after that is delivered. */
  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('store is closed');
    return this.channels.add(this.channelName(channel), handler);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.channels.clear();
    const listener = this.listener;
    this.listener = undefined;
    const client = await listener?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }

  private async listen(name: string): Promise<void> {
    const client = await this.connection();
    await client.query(`LISTEN "${name}"`);
  }

  /** Removes one handler; the channel is UNLISTENed when it was the last one. */
  private async unlisten(name: string): Promise<void> {
    if (this.listener === undefined || this.closed) return;
    try {
      // Queries on one connection run in order, so a LISTEN sent after this UNLISTEN wins.
      await (await this.listener).query(`UNLISTEN "${name}"`);
    } catch (err) {
      // The connection is gone: it listens to nothing any more, and a reconnect skips this channel.
      if (err instanceof Error) this.onError(err);
    }
  }

  private deliver(n: pg.Notification): void {
    if (n.payload !== undefined) this.channels.deliver(n.channel, n.payload);
  }

  private connection(): Promise<pg.Client> {
    if (this.listener !== undefined) return this.listener;
    const client = new pg.Client(this.clientConfig);
    client.on('notification', (n: pg.Notification) => this.deliver(n));
    const lost = (err?: Error): void => {
      if (err !== undefined) this.onError(err);
      if (this.listener !== connecting) return;
      this.listener = undefined;
      void client.end().catch(() => undefined);
      this.relistenLater();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    const connecting = client.connect().then(
      () => {
        this.failures = 0;
        return client;
      },
      (err: unknown) => {
        if (this.listener === connecting) this.listener = undefined;
        throw err;
      },
    );
    this.listener = connecting;
    return connecting;
  }

  /** After the connection broke: connect again (50 ms doubling, capped at 1 s) and LISTEN to every channel that still has handlers. */
  private relistenLater(): void {
    if (this.closed || this.channels.size === 0 || this.retry !== undefined) return;
    const delay = Math.min(50 * 2 ** Math.min(this.failures, 10), MAX_RETRY_MS);
    this.failures++;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.closed) return;
      Promise.all(this.channels.names().map((name) => this.listen(name))).catch((err: unknown) => {
        if (err instanceof Error) this.onError(err);
        this.relistenLater();
      });
    }, delay);
    this.retry.unref();
  }
}
