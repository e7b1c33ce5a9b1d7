import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { buildConnector } from 'undici';

/**
 * The outbound policy of action methods (STYLE.md rule 11): which targets the gateway may call.
 *
 * In production mode targets must be https, and addresses that reach the gateway's own host or
 * network (loopback, link-local, private, unique-local, unspecified, CGNAT, multicast, reserved)
 * are refused unless the extension sets `allowPrivateTargets`. The address check runs on the
 * address a connection is actually made to (`policyLookup` plus the IP-literal check of
 * `checkConnectHost`), so a name that resolves to a public address when the definition is saved
 * and to 127.0.0.1 later (DNS rebinding) is still refused. The URL-text check at definition time
 * only gives the developer an early, clear error.
 */

/** Ranges that are not the public internet (IANA special-purpose registries, RFC 6890 and successors). */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", includes the unspecified 0.0.0.0
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT, RFC 6598
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, where cloud metadata endpoints live
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes the broadcast address
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated)
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}
// IPv4-mapped (::ffff:a.b.c.d) addresses are checked against the IPv4 rules by BlockList itself.

/** True when `address` (an IP literal) is not a public internet address. Not an IP literal: false. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return false;
  if (BLOCKED.check(address, 'ipv6')) return true;
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address that the gateway would reach.
  const embedded = embeddedIPv4(address);
  return embedded !== undefined && BLOCKED.check(embedded, 'ipv4');
}

function embeddedIPv4(v6: string): string | undefined {
  const groups = expandIPv6(v6);
  if (groups === undefined) return undefined;
  const toV4 = (hi: number, lo: number): string => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) {
    return toV4(groups[6] ?? 0, groups[7] ?? 0);
  }
  if (groups[0] === 0x2002) return toV4(groups[1] ?? 0, groups[2] ?? 0);
  return undefined;
}

function expandIPv6(v6: string): number[] | undefined {
  let text = v6.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1] !== undefined) {
    const parts = dotted[1].split('.').map(Number);
    const [a = 0, b = 0, c = 0, d = 0] = parts;
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - h.length - t.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  return [...h, ...Array<string>(missing).fill('0'), ...t].map((g) => parseInt(g, 16));
}

/** What the policy needs to know about the deployment and the extension. */
export interface PolicyMode {
  production: boolean;
  allowPrivateTargets: boolean;
}

/**
 * Definition-time check of a target URL (already known to be a well-formed http(s) URL). Returns
 * the problem in words, or undefined. Names that resolve to private addresses are caught at
 * connect time; here only what the text shows.
 */
export function targetUrlProblem(url: URL, mode: PolicyMode): string | undefined {
  if (!mode.production) return undefined;
  if (url.protocol !== 'https:') return 'must be https:// in production mode';
  if (mode.allowPrivateTargets) return undefined;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  // `localhost.` (fully qualified) resolves like `localhost`.
  const lower = host.toLowerCase().replace(/\.+$/, '');
  if (lower === 'localhost' || lower.endsWith('.localhost') || isPrivateAddress(host)) {
    return 'points to a loopback, link-local or private address, refused in production mode unless the extension sets allowPrivateTargets';
  }
  return undefined;
}

/** The error a connection attempt fails with when the policy refuses the address. */
export class TargetRefusedError extends Error {
  readonly code = 'CEKGW_TARGET_REFUSED';
  constructor(host: string, address: string) {
    super(`target ${host} resolves to ${address}, a loopback, link-local or private address`);
    this.name = 'TargetRefusedError';
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup` replacement for `net.connect` that refuses names resolving to any private
 * address (a name with one private address among public ones is refused as a whole: it is either
 * a misconfiguration or an attack). `onResolved` sees every resolved address (for the development
 * warning); `enforce` decides whether private ones are refused.
 */
export function policyLookup(enforce: boolean, onPrivate: (host: string, address: string) => void) {
  return function lookup(hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err !== null) {
        callback(err, []);
        return;
      }
      for (const a of addresses) {
        if (isPrivateAddress(a.address)) {
          onPrivate(hostname, a.address);
          if (enforce) {
            callback(new TargetRefusedError(hostname, a.address), []);
            return;
          }
        }
      }
      if (options.all === true) {
        callback(null, addresses);
        return;
      }
      const first = addresses[0];
      if (first === undefined) callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      else callback(null, first.address, first.family);
    });
  };
}

/**
 * The IP-literal half of the connect-time check: `net.connect` skips `lookup` for an IP literal
 * (`https://127.0.0.1/`, `https://[::1]/`), so those are checked here. Returns the refusal, or undefined.
 */
export function checkConnectHost(hostname: string, enforce: boolean, onPrivate: (host: string, address: string) => void): Error | undefined {
  if (isIP(hostname) === 0 || !isPrivateAddress(hostname)) return undefined;
  onPrivate(hostname, hostname);
  return enforce ? new TargetRefusedError(hostname, hostname) : undefined;
}

/**
 * An undici `connect` function that applies the policy to the address actually dialled: IP literals
 * checked directly, names through `policyLookup`. Used by the action forwarder and by account
 * linking's calls to the OAuth provider (token, revocation, discovery).
 */
export function policyConnect(enforce: boolean, onPrivate: (host: string, address: string) => void, timeoutMs: number): buildConnector.connector {
  const base = buildConnector({ timeout: timeoutMs, lookup: policyLookup(enforce, onPrivate) } as buildConnector.BuildOptions);
  return (opts, callback) => {
    const refused = checkConnectHost(opts.hostname, enforce, onPrivate);
    if (refused !== undefined) {
      callback(refused, null);
      return;
    }
    base(opts, callback);
  };
}
