// A full garbage collection in a service started with --inspect, so that an RSS read after it is what
// the process keeps (memory and scale).
import { WebSocket } from 'undici';

/**
 * Forces a full garbage collection in a service started with --inspect (Chrome DevTools protocol,
 * HeapProfiler.collectGarbage), so what is measured after it is what the process retains.
 */
export async function collectGarbage(proc) {
  const m = /ws:\/\/[^\s]+/.exec(proc.stderr());
  if (m === null) throw new Error(`${proc.name}: no inspector URL in its output`);
  const ws = new WebSocket(m[0]);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('inspector connection failed'));
  });
  await new Promise((resolve) => {
    ws.onmessage = (e) => {
      if (JSON.parse(String(e.data)).id === 1) resolve();
    };
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  });
  ws.close();
}
