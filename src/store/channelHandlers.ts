import { messageOf } from '../http/errorInfo.js';

type Handler = (message: string) => void;

interface ChannelEntry {
  handlers: Set<Handler>;
  /** The channel's SUBSCRIBE / LISTEN (later subscribers of the channel wait for it too). */
  ready: Promise<void>;
}

/**
 * The subscribers of a store's pub/sub channels (Redis and PostgreSQL alike): one SUBSCRIBE/LISTEN per
 * channel however many handlers it has, each `add` its own subscription (the same function added
 * twice is two), the channel released when its last handler goes, and a handler that throws never
 * keeps the others from their message.
 */
export class ChannelHandlers {
  readonly #channels = new Map<string, ChannelEntry>();
  readonly #open: (name: string) => Promise<void>;
  readonly #release: (name: string) => Promise<void>;

  /** `open` subscribes the connection to a channel, `release` unsubscribes it. */
  constructor(o: { open: (name: string) => Promise<void>; release: (name: string) => Promise<void> }) {
    this.#open = o.open;
    this.#release = o.release;
  }

  /** Resolves once the channel's subscription is in place, so a message published after that is delivered. */
  async add(name: string, handler: Handler): Promise<() => Promise<void>> {
    let entry = this.#channels.get(name);
    if (entry === undefined) {
      const created: ChannelEntry = { handlers: new Set(), ready: this.#open(name) };
      this.#channels.set(name, created);
      entry = created;
    }
    const own: Handler = (message) => handler(message);
    entry.handlers.add(own);
    try {
      await entry.ready;
    } catch (err) {
      entry.handlers.delete(own);
      if (this.#channels.get(name) === entry) this.#channels.delete(name);
      throw err;
    }
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      const current = this.#channels.get(name);
      if (current === undefined || !current.handlers.delete(own) || current.handlers.size > 0) return;
      this.#channels.delete(name);
      await this.#release(name);
    };
  }

  /** Hands `message` to every handler of `name`; `label` names the channel in the warning of a handler that throws. */
  deliver(name: string, message: string, label = name): void {
    const entry = this.#channels.get(name);
    if (entry === undefined) return;
    for (const handler of [...entry.handlers]) {
      try {
        handler(message);
      } catch (err) {
        process.emitWarning(`store subscriber on channel "${label}" threw: ${messageOf(err)}`);
      }
    }
  }

  /** The channels that still have handlers (to subscribe again after a reconnect). */
  names(): string[] {
    return [...this.#channels.keys()];
  }

  get size(): number {
    return this.#channels.size;
  }

  clear(): void {
    this.#channels.clear();
  }
}
