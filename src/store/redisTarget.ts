import { redactUrl } from '../security/redactUrl.js';

/**
 * Where Redis is: one server (`redis://…`, `rediss://…`) or a Redis Cluster, named by a
 * `redis+cluster://[user:password@]host:port[,host:port…]` URL (`rediss+cluster://` for TLS) or by
 * `REDIS_CLUSTER_NODES` (`host:port,host:port`, turned into such a URL by `clusterUrlOf`). The nodes
 * are seeds: the client asks them for the cluster's layout and finds every other master itself.
 */
export interface ClusterNode {
  readonly host: string;
  readonly port: number;
}

export type RedisTarget =
  | { readonly cluster: false; readonly url: string }
  | { readonly cluster: true; readonly nodes: readonly ClusterNode[]; readonly username: string | undefined; readonly password: string | undefined; readonly tls: boolean };

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^@/?#]+)\/?$/;
const NODE = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

/** True for a `redis+cluster://` or `rediss+cluster://` URL. */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:\/\//.test(url);
}

/** `host:port,host:port` → its nodes; throws with a message naming the bad entry. */
export function parseClusterNodes(list: string): ClusterNode[] {
  const entries = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length === 0) throw new Error('names no node (host:port,host:port)');
  return entries.map((entry) => {
    const m = NODE.exec(entry);
    const port = Number(m?.[3]);
    if (m === null || !Number.isInteger(port) || port < 1 || port > 65535) {
      // Credentials belong in the URL form; never echo them (an entry like user:password@host:port).
      const at = entry.lastIndexOf('@');
      const shown = at >= 0 ? `***@${entry.slice(at + 1)}` : entry;
      throw new Error(`"${shown}" is not host:port${at >= 0 ? ' (credentials go in REDIS_URL=redis+cluster://user:password@host:port,…)' : ''}`);
    }
    return { host: m[1] ?? m[2] ?? '', port };
  });
}

/** The `redis+cluster://` URL of a `REDIS_CLUSTER_NODES` list (checked). */
export function clusterUrlOf(nodes: string): string {
  const parsed = parseClusterNodes(nodes);
  return `redis+cluster://${parsed.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(',')}`;
}

/** The target a Redis URL names; throws on a malformed cluster URL. */
export function redisTargetOf(url: string): RedisTarget {
  if (!isClusterUrl(url)) return { cluster: false, url };
  const m = CLUSTER_URL.exec(url);
  if (m === null) throw new Error('a cluster URL is redis+cluster://[user:password@]host:port[,host:port…] (no database: a cluster has only database 0)');
  const [user, password] = splitCredentials(m[2]);
  return { cluster: true, nodes: parseClusterNodes(m[3] ?? ''), username: user, password, tls: m[1] === 'rediss' };
}

function splitCredentials(auth: string | undefined): [string | undefined, string | undefined] {
  if (auth === undefined || auth === '') return [undefined, undefined];
  const colon = auth.indexOf(':');
  const decode = (s: string): string | undefined => (s === '' ? undefined : decodeURIComponent(s));
  return colon < 0 ? [decode(auth), undefined] : [decode(auth.slice(0, colon)), decode(auth.slice(colon + 1))];
}

/** `url` with its password replaced by `***`, for messages and logs (either kind of URL). */
export function redactRedisUrl(url: string): string {
  if (isClusterUrl(url)) return url.replace(/^(rediss?\+cluster:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
  return redactUrl(url, '<invalid Redis URL>');
}
