import net, { type AddressInfo } from 'node:net';

/**
 * A TCP proxy to the PostgreSQL server on a fixed loopback port: `stop()` closes it and cuts every
 * connection through it (the server seems gone), `start()` listens again on the same port.
 */
export async function startTcpProxy(targetUrl: string): Promise<{ url: string; start: () => Promise<void>; stop: () => Promise<void> }> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port === '' ? 5432 : target.port);
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const start = async (): Promise<void> => {
    const srv = net.createServer((client) => {
      const upstream = net.connect(targetPort, target.hostname);
      sockets.add(client);
      sockets.add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', resolve));
    server = srv;
  };
  const stop = async (): Promise<void> => {
    const srv = server;
    server = undefined;
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (srv !== undefined) await new Promise<void>((resolve) => srv.close(() => resolve()));
  };
  await start();
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { url: url.toString(), start, stop };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
