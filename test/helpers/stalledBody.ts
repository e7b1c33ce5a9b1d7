import { connect } from 'node:net';

/** An answer read off a raw socket, up to the server closing it. */
export interface StalledAnswer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

/**
 * A request whose body never finishes: the head announces `content-length: 100`, one byte of body
 * follows, then nothing. Resolves with the answer once the server closes the connection (it never
 * resolves if the server keeps it open: the test's timeout fails it).
 */
export function stalledBody(origin: string, o: { method?: string; path: string; headers?: Record<string, string> }): Promise<StalledAnswer> {
  const { hostname, port } = new URL(origin);
  const head = [`${o.method ?? 'POST'} ${o.path} HTTP/1.1`, `host: ${hostname}:${port}`, 'content-length: 100', ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`)];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, split === -1 ? text.length : split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: split === -1 ? '' : text.slice(split + 4) });
    });
    socket.write(`${head.join('\r\n')}\r\n\r\nx`);
  });
}
