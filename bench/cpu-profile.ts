/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): the top frames by self time, and self time
 * by package (node_modules/<name>, our src/, node internals).
 *
 *   npx tsx bench/cpu-profile.ts <file.cpuprofile> [top=10]
 *
 * Profile the server during a bench run with
 *   BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- hotpaths --runs 1 --only sends-http
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: npx tsx bench/cpu-profile.ts <file.cpuprofile> [top]');
  process.exit(1);
}
const top = Number(topArg ?? 10);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0));

const shortUrl = (url: string) => url.replace(/^file:\/\/.*?\/node_modules\//, '~/').replace(/^file:\/\/.*?\/(dist|src)\//, '$1/');
const pkgOf = (url: string) => {
  if (url === '') return '(native/V8)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return 'node internals';
  if (/\/(dist\/)?src\//.test(url)) return 'ours (src/)';
  return url;
};

const frames = new Map<string, number>();
const packages = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const { callFrame: f } = byId.get(id)!;
  total += us;
  if (f.functionName === '(idle)') {
    idle += us;
    continue;
  }
  const key = `${f.functionName || '(anonymous)'}  ${f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : ''}`.trimEnd();
  frames.set(key, (frames.get(key) ?? 0) + us);
  packages.set(pkgOf(f.url), (packages.get(pkgOf(f.url)) ?? 0) + us);
}
const busy = total - idle;
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (percentages of busy time)`);
console.log(`\ntop ${top} frames by self time`);
for (const [k, us] of [...frames].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${k}`);
console.log('\nself time by package');
for (const [k, us] of [...packages].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${pct(us)}  ${k}`);

// --callers <text>: where the self time of frames whose name or url contains <text> comes from.
const callersOf = process.argv.indexOf('--callers');
if (callersOf > 0) {
  const needle = process.argv[callersOf + 1]!;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stacks = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    if (!`${f.functionName} ${f.url}`.includes(needle)) continue;
    const path: string[] = [];
    for (let p = parent.get(id); p !== undefined && path.length < 8; p = parent.get(p)) {
      const pf = byId.get(p)!.callFrame;
      path.push(`${pf.functionName || '(anon)'}@${shortUrl(pf.url).split('/').pop()}:${pf.lineNumber + 1}`);
    }
    const key = `${f.functionName}: ${path.join(' < ')}`;
    stacks.set(key, (stacks.get(key) ?? 0) + us);
  }
  console.log(`\ncallers of frames matching ${JSON.stringify(needle)}`);
  for (const [k, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${pct(us)}  ${k}`);
}

// --inclusive: top frames by total time (self plus callees), each counted once per stack.
if (process.argv.includes('--inclusive')) {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = new Map<string, number>();
  for (const [id, us] of selfUs) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let p: number | undefined = id; p !== undefined; p = parent.get(p)) {
      const f = byId.get(p)!.callFrame;
      const key = `${f.functionName || '(anonymous)'}  ${f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : ''}`.trimEnd();
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + us);
    }
  }
  console.log('\ntop frames by inclusive time');
  for (const [k, us] of [...total].sort((a, b) => b[1] - a[1]).slice(0, 60)) console.log(`  ${pct(us)}  ${k}`);
}
