/** The soak's summary table (plain text, for the terminal and CI logs). */
import { percentile } from './process-probe.js';
import { CYCLE_KINDS } from './soak-cycles.js';
import type { SoakReport } from './soak-runner.js';

const MIB = 1024 * 1024;

export function formatReport(r: SoakReport): string {
  const { options: o, before, after } = r;
  const ms = (xs: readonly number[], p: number): string => (xs.length ? `${Math.round(percentile(xs, p))} ms` : '-');
  const signed = (x: number, digits = 1): string => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
  const rssGrowth = (after.rssKiB - before.rssKiB) / 1024;
  const heapGrowth = (after.heapUsedBytes - before.heapUsedBytes) / MIB;
  const rows: [string, string][] = [
    ['cycles', `${r.cyclesRun} of ${o.cycles} (+${o.warmupCycles} warm-up), ${o.concurrency} in flight, kernelspec ${o.kernelName}, gateway from ${o.entry}`],
    ['failures', String(r.failures.length)],
    ['wall time', `${(r.wallMs / 1000).toFixed(1)} s (${((r.cyclesRun * 1000) / Math.max(1, r.wallMs)).toFixed(2)} cycles/s)`],
    ['cycle time p50 / p95', `${ms(r.durationsMs.all, 50)} / ${ms(r.durationsMs.all, 95)}`],
    ...CYCLE_KINDS.map((k): [string, string] => [`  ${k} (${r.durationsMs[k].length})`, `${ms(r.durationsMs[k], 50)} / ${ms(r.durationsMs[k], 95)}`]),
    ['RSS before / after', `${(before.rssKiB / 1024).toFixed(1)} / ${(after.rssKiB / 1024).toFixed(1)} MiB (${signed(rssGrowth)} MiB, bound +${o.bounds.rssGrowthMiB})`],
    ['V8 heap used before / after', `${(before.heapUsedBytes / MIB).toFixed(1)} / ${(after.heapUsedBytes / MIB).toFixed(1)} MiB (${signed(heapGrowth)} MiB, bound +${o.bounds.heapGrowthMiB})`],
    ['open fds before / after', `${before.fds} / ${after.fds} (bound +${o.bounds.fdSlack})`],
    ['kernel ports seen', String(r.kernelPortsSeen)],
    ['leftovers', r.leftovers.length === 0 ? 'none (processes, children, files, ports, sockets)' : String(r.leftovers.length)],
    ['gateway warn/error log lines', String(r.gatewayWarnings.length)],
    ['gateway exit on SIGTERM', String(r.exitCode)],
    ['result', r.problems.length === 0 ? 'PASS' : 'FAIL'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  for (const p of r.problems) lines.push(`  - ${p}`);
  if (r.failures.length > 0) {
    lines.push('failed cycles by reason:');
    for (const [reason, n] of failureReasons(r)) lines.push(`  ${String(n).padStart(4)} x ${reason}`);
  }
  for (const f of r.failures.slice(0, 3)) {
    lines.push(`gateway log of failed cycle #${f.index} (${f.kind}), last 40 of ${f.logs.length} lines:`);
    for (const l of f.logs.slice(-40)) lines.push(`  ${l.slice(0, 400)}`);
  }
  if (r.gatewayWarnings.length > 0) {
    lines.push('gateway warn/error lines (first 5):');
    for (const w of r.gatewayWarnings.slice(0, 5)) lines.push(`  ${w.slice(0, 400)}`);
  }
  return lines.join('\n');
}

/** Failures grouped by message, with ids and numbers blanked so that one cause is one line. */
export function failureReasons(r: SoakReport): [string, number][] {
  const counts = new Map<string, number>();
  for (const f of r.failures) {
    const reason = `${f.kind}: ${f.error.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>').replace(/\d+/g, 'N').slice(0, 300)}`;
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}
