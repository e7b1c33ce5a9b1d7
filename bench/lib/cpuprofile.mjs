// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time goes: self time grouped by
// package (node_modules/<pkg>), by folder of our own code (dist/<folder>), node's own JS, GC; and
// the functions with the most self time. Native frames (no URL: C++ bindings, V8 builtins such as
// JSON.parse or crypto) are attributed to the JavaScript that called them, marked "(native)".
import path from 'node:path';

function categoryOf(url, root) {
  if (url === '') return undefined;
  if (url.startsWith('node:')) return 'node core (JS)';
  const file = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? 'node_modules');
  }
  const rel = path.relative(root, file);
  if (rel.startsWith('dist/')) {
    const parts = rel.split('/');
    return parts.length > 2 ? `cek-gateway ${parts[1]}/` : `cek-gateway ${parts[1]}`;
  }
  return rel.startsWith('..') ? file : rel;
}

/** Functions whose inclusive time names a phase of a voice request (our code and the libraries it calls). */
const PHASES = [
  ['verifyCekRequest', 'signature + Chatbot Secret checks'],
  ['parseCekRequest', 'JSON parse + request checks'],
  ['accessToken', 'token lookup (store read + AES-GCM open)'],
  ['forward', "forward with undici (send; the reply is read in undici's callbacks)"],
  ['mapReply', 'reply mapping'],
  ['sendJson', 'writing the CEK response'],
  ['observeRequest', 'log line (pino) + metrics (prom-client)'],
  ['LOG', '  of which the pino log line'],
  ['redact', '  of which pino redaction'],
];

export function analyseProfile(profile, root, requests) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const catCache = new Map();
  const categoryFor = (id) => {
    if (catCache.has(id)) return catCache.get(id);
    const n = byId.get(id);
    const fn = n.callFrame.functionName;
    let cat;
    if (fn === '(garbage collector)') cat = 'GC';
    else if (fn === '(idle)') cat = 'idle';
    else if (fn === '(program)') cat = '(program: V8/libuv outside JS)';
    else if (fn === '(root)') cat = '(root)';
    else {
      const own = categoryOf(n.callFrame.url, root);
      if (own !== undefined) cat = own;
      else {
        const p = parent.get(id);
        const up = p === undefined ? undefined : categoryFor(p);
        cat = up === undefined || up === '(root)' ? '(native)' : up.endsWith(' (native)') ? up : `${up} (native)`;
      }
    }
    catCache.set(id, cat);
    return cat;
  };
  const groups = new Map();
  const fns = new Map();
  let busy = 0;
  for (const [id, us] of self) {
    const cat = categoryFor(id);
    if (cat === 'idle') continue;
    busy += us;
    groups.set(cat, (groups.get(cat) ?? 0) + us);
    const n = byId.get(id);
    const name = `${n.callFrame.functionName || '(anonymous)'} — ${cat}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
  }
  // Fold the per-package native share into one line per package: "express 12.3 % (4.1 % native)".
  const folded = new Map();
  for (const [cat, us] of groups) {
    const base = cat.replace(/ \(native\)$/, '');
    const f = folded.get(base) ?? { total: 0, native: 0 };
    f.total += us;
    if (cat.endsWith(' (native)')) f.native += us;
    folded.set(base, f);
  }
  // Inclusive (self + callees) time per function name, each stack counted once per name.
  const total = new Map();
  const totalOf = (id) => {
    if (total.has(id)) return total.get(id);
    const n = byId.get(id);
    let t = self.get(id) ?? 0;
    for (const c of n.children ?? []) t += totalOf(c);
    total.set(id, t);
    return t;
  };
  const inclusive = new Map();
  const walk = (id, seen) => {
    const name = byId.get(id).callFrame.functionName;
    const first = !seen.has(name);
    if (first) inclusive.set(name, (inclusive.get(name) ?? 0) + totalOf(id));
    const next = first ? new Set(seen).add(name) : seen;
    for (const c of byId.get(id).children ?? []) walk(c, next);
  };
  walk(profile.nodes[0].id, new Set());

  const perReq = (us) => (requests ? `${(us / requests).toFixed(1)} µs` : '');
  const lines = [`Busy CPU (main thread): ${(busy / 1e6).toFixed(2)} s${requests ? `, ${(busy / requests).toFixed(0)} µs per request (profiler overhead included)` : ''}.`, ''];
  lines.push('| phase (inclusive time) | share | per request |', '|---|---|---|');
  for (const [fn, label] of PHASES) {
    const us = inclusive.get(fn) ?? 0;
    if (us > 0) lines.push(`| ${label} (\`${fn}\`) | ${((us / busy) * 100).toFixed(1)} % | ${perReq(us)} |`);
  }
  lines.push('', '| where (self time) | share of busy CPU | of which native | per request |', '|---|---|---|---|');
  for (const [cat, f] of [...folded].sort((a, b) => b[1].total - a[1].total)) {
    if (f.total / busy < 0.005) continue;
    lines.push(`| ${cat} | ${((f.total / busy) * 100).toFixed(1)} % | ${f.native > 0 ? `${((f.native / busy) * 100).toFixed(1)} %` : ''} | ${perReq(f.total)} |`);
  }
  lines.push('', 'Top functions by self time:', '', '| function — where | share |', '|---|---|');
  for (const [name, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`| ${name.replace(/\|/g, '\\|')} | ${((us / busy) * 100).toFixed(1)} % |`);
  return lines;
}
