import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { buildConnector } from 'undici';

/**
 * The outbound policy (STYLE.md rule 11): which addresses the gateway may call, for action targets
 * and for account linking's calls to the OAuth provider.
 *
 * In production mode targets must be https, and addresses that reach the gateway's own host or
 * network (anything the IANA registries do not list as public unicast: loopback, link-local, private,
 * unique-local, unspecified, CGNAT, multicast, reserved, documentation, ...)
 * are refused unless the extension sets `allowPrivateTargets`. The address check runs on the
 * address a connection is actually made to (`policyLookup` plus the IP-literal check of
 * `checkConnectHost`), so a name that resolves to a public address when the definition is saved
 * and to 127.0.0.1 later (DNS rebinding) is still refused. The URL-text check at definition time
 * only gives the developer an early, clear error.
 */

/**
 * Which addresses are the public internet comes from ipaddr.js's range table (kept up to date with
 * the IANA special-purpose registries), not from a list of our own: a hand-written list let the
 * IPv4-translated form of 127.0.0.1 (`::ffff:0:7f00:1`, `::ffff:0:0/96`) through. Only what the
 * table calls `unicast` is public; an IPv6 address that carries an IPv4 address the gateway would
 * reach (mapped, translated, NAT64, 6to4) is judged by that IPv4 address.
 */
export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 0) return false;
  // An IP literal the table cannot read is not known to be public: refused.
  if (!ipaddr.isValid(address)) return true;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.range() !== 'unicast';
  const v6 = ipaddr.IPv6.parse(address);
  const embedded = embeddedIPv4(v6);
  if (embedded !== undefined) return embedded === 'refuse' || embedded.range() !== 'unicast';
  return v6.range() !== 'unicast';
}

/** The IPv4 address an IPv6 address leads to, `'refuse'` for one that cannot be judged, undefined for none. */
function embeddedIPv4(v6: ipaddr.IPv6): ipaddr.IPv4 | 'refuse' | undefined {
  const b = v6.toByteArray();
  const v4 = (at: number): ipaddr.IPv4 => new ipaddr.IPv4(b.slice(at, at + 4));
  const zeros = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  switch (v6.range()) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d, IPv4-translated
      return v4(12);
    case 'rfc6052': // NAT64: the well-known 64:ff9b::/96 carries the address last; the local-use /48 leads into a private network
      return zeros(4, 12) ? v4(12) : 'refuse';
    case '6to4': // 2002:AABB:CCDD::/48
      return v4(2);
    case 'teredo': // a tunnel whose client address is obfuscated: never a target
      return 'refuse';
    default:
      // IPv4-compatible (::a.b.c.d, deprecated): the table files it under unicast, some stacks still reach the IPv4 address.
      return v6.range() === 'unicast' && zeros(0, 12) ? v4(12) : undefined;
  }
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
  const base = buildConnector({ timeout: timeoutMs, lookup: policyLookup(enforce, onPrivate) });
  return (opts, callback) => {
    const refused = checkConnectHost(opts.hostname, enforce, onPrivate);
    if (refused !== undefined) {
      callback(refused, null);
      return;
    }
    base(opts, callback);
  };
}

/** The start of the message that refuses a configured URL with a user or password in it. */
export const CREDENTIALS_REFUSED = 'must not contain credentials';

/**
 * A configured URL with `user:password@` (or only a user) is refused wherever URLs are configured
 * (action methods, webhooks, account linking): a URL is shown back by the admin API and pages,
 * written out by `export`, logged, and a login URL is opened by every end user's browser.
 */
export function hasCredentials(url: URL): boolean {
  return url.username !== '' || url.password !== '';
}

/** Shape checks of a target URL that do not depend on the deployment (the target policy adds those). */
export function urlShapeProblem(value: string): string | undefined {
  if (!URL.canParse(value)) return 'must be an absolute http:// or https:// URL';
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http:// or https:// URL';
  // `http:///x` and `http:x` parse (as host "x"), but are not what anyone meant.
  if (!/^https?:\/\/[^/?#\s\\]/i.test(value)) return 'must be an absolute http:// or https:// URL with a host after "//"';
  if (hasCredentials(url)) return `${CREDENTIALS_REFUSED} (use a static header instead)`;
  if (url.hash !== '') return 'must not have a #fragment';
  return undefined;
}
