/**
 * Issue 5's figures and targets, as table rows built from each target's results. A cell whose
 * phase failed says so ("failed: deadline: waited N ms for ...") instead of "n/a".
 */
import type { Phase } from './bench-options.js';
import type { JupyterLabResults } from './jupyterlab-path.js';
import { jupyterlabRows } from './jupyterlab-rows.js';
import type { FigureRow } from './report-table.js';
import type { K8sResults } from './k8s-suite.js';
import { sparkRows } from './spark-rows.js';
import type { SparkResults } from './spark-suite.js';
import type { Summary } from './stats.js';
import { STANDALONE_TARGETS, type PhaseFailure, type TargetResults } from './target-results.js';
import { usersRows } from './users-rows.js';
import type { UsersResults } from './users-suite.js';

export interface AllResults {
  /** Jupyter Server 2 (.venv-jupyter). */
  readonly js?: TargetResults;
  readonly jsNodelay?: TargetResults;
  /** Jupyter Enterprise Gateway 3.3 (.venv-eg). */
  readonly eg?: TargetResults;
  readonly sparkgate?: TargetResults;
  readonly warm?: TargetResults;
  readonly warmNote?: string;
  readonly floor?: TargetResults;
  readonly jupyterClient?: Summary;
  /** The jupyterlab phase (issue 16): Jupyter Server 2 in gateway mode, extension off and on. */
  readonly jupyterlab?: JupyterLabResults;
  /** The users phase: what multi-user mode costs per request, beside single-user mode. */
  readonly users?: UsersResults;
  readonly gc?: Summary;
  /** The Scala kernel (issue 4): 1+1 round trips through sparkgate. */
  readonly scala?: { p50: number; p95: number; samples: number };
  /** The spark phase (issue 11): Spark sessions and their bare-REPL floor. */
  readonly spark?: SparkResults;
  /** The k8s phase (issue 12): against the real test control plane. */
  readonly k8s?: K8sResults;
  /** Phases that did not finish, in the order they failed. */
  readonly failures?: readonly PhaseFailure[];
}

const below = (v: number | undefined, limit: number): boolean | undefined => (v === undefined ? undefined : v < limit);

type Column = TargetResults | string | undefined;

export interface RowOptions {
  readonly starts: number;
  readonly roundTrips: number;
  readonly iopubLines: number;
  readonly concurrency: number;
  readonly cells: number;
  readonly idleKernels: number;
  readonly sparkStarts: number;
  readonly sparkWarmStarts: number;
  readonly sparkRoundTrips: number;
  readonly sparkSessions: number;
  readonly usersRequests: number;
  readonly usersUpgrades: number;
  readonly usersFileUsers: number;
}

export function figureRows(r: AllResults, o: RowOptions): FigureRow[] {
  const rows: FigureRow[] = [];
  const n = (x: number): string => x.toLocaleString('en-US');
  const failed = (t: Column, phase: Phase): string | undefined => {
    const label = typeof t === 'string' ? t : t?.label;
    const f = r.failures?.find((x) => x.target === label && x.phase === phase);
    if (!f) return undefined;
    // The cell keeps the DeadlineError's head; what the phase was still waiting for is in the notes.
    const [head, ...rest] = f.message.split('; ');
    return `failed: ${head}${rest.length > 0 ? ' (more in the notes)' : ''}`;
  };
  /** The failure notes of a row's columns, for the phase the row comes from. */
  const notes = (phase: Phase, cols: { js?: Column; eg?: Column; sparkgate?: Column; floor?: Column }): Pick<FigureRow, 'jsNote' | 'egNote' | 'sparkgateNote' | 'floorNote'> => {
    const out: { jsNote?: string; egNote?: string; sparkgateNote?: string; floorNote?: string } = {};
    const js = cols.js && failed(cols.js, phase);
    const eg = cols.eg && failed(cols.eg, phase);
    const sg = cols.sparkgate && failed(cols.sparkgate, phase);
    const floor = cols.floor && failed(cols.floor, phase);
    if (js) out.jsNote = js;
    if (eg) out.egNote = eg;
    if (sg) out.sparkgateNote = sg;
    if (floor) out.floorNote = floor;
    return out;
  };
  const all = { js: r.js, eg: r.eg, sparkgate: r.sparkgate, floor: r.floor };
  for (const p of ['p50', 'p95'] as const) {
    rows.push({ figure: `kernel start to kernel_info, cold, ${p} of ${o.starts}`, unit: 'ms', js: r.js?.start?.[p], eg: r.eg?.start?.[p], sparkgate: r.sparkgate?.start?.[p], floor: r.floor?.start?.[p], ...notes('start', all) });
  }
  for (const p of ['p50', 'p95'] as const) {
    const v = r.warm?.start?.[p];
    const warmNote = failed(r.warm, 'start') ?? r.warmNote;
    rows.push({
      figure: `kernel start to kernel_info, sparkgate warm pool, ${p} (JS2, EG: cold)`,
      unit: 'ms',
      js: r.js?.start?.[p],
      eg: r.eg?.start?.[p],
      sparkgate: v,
      floor: r.floor?.start?.[p],
      ...notes('start', { js: r.js, eg: r.eg, floor: r.floor }),
      ...(warmNote ? { sparkgateNote: warmNote } : {}),
      ...(p === 'p95' ? { target: '< 50 ms', met: below(v, 50) } : {}),
    });
  }
  for (const protocol of ['v1', 'legacy'] as const) {
    for (const p of ['p50', 'p99'] as const) {
      const sg = r.sparkgate?.rtt[protocol]?.[p];
      const floor = r.floor?.rtt['zmq']?.[p];
      const target = protocol === 'v1' && p === 'p50';
      rows.push({
        figure: `\`1+1\` round trip, ${protocol} websocket, ${p} of ${n(r.sparkgate?.rtt[protocol]?.n ?? r.js?.rtt[protocol]?.n ?? r.eg?.rtt[protocol]?.n ?? 0)}`,
        unit: 'ms',
        js: r.js?.rtt[protocol]?.[p],
        eg: r.eg?.rtt[protocol]?.[p],
        sparkgate: sg,
        floor,
        ...notes('rtt', all),
        ...(target ? { target: '< 5 ms and <= 1.3x floor', met: sg === undefined || floor === undefined ? undefined : sg < 5 && sg <= 1.3 * floor } : {}),
      });
    }
  }
  rows.push({ figure: '`1+1` round trip p50, Jupyter Server 2 + TCP_NODELAY (experiment)', unit: 'ms', js: r.jsNodelay?.rtt['v1']?.p50, ...notes('rtt', { js: r.jsNodelay }) });
  rows.push({
    figure: '`1+1` round trip p50, Python jupyter_client to the kernel (2nd floor)',
    unit: 'ms',
    floor: r.jupyterClient?.p50,
    ...notes('reference', { floor: STANDALONE_TARGETS.reference }),
  });
  const io = (t: TargetResults | undefined, k: string) => t?.iopub[k];
  rows.push({
    figure: `iopub: ${n(o.iopubLines)} lines in one cell, wall time (v1)`,
    unit: 'ms',
    js: io(r.js, 'v1')?.wallMs,
    eg: io(r.eg, 'v1')?.wallMs,
    sparkgate: io(r.sparkgate, 'v1')?.wallMs,
    floor: io(r.floor, 'zmq')?.wallMs,
    ...notes('iopub', all),
  });
  const sgMbps = io(r.sparkgate, 'v1')?.mbPerS;
  const jsMbps = io(r.js, 'v1')?.mbPerS;
  rows.push({
    figure: 'iopub throughput, stream text (v1)',
    unit: 'MB/s',
    js: jsMbps,
    eg: io(r.eg, 'v1')?.mbPerS,
    sparkgate: sgMbps,
    floor: io(r.floor, 'zmq')?.mbPerS,
    ...notes('iopub', all),
    target: '>= 2x Jupyter Server 2',
    met: sgMbps === undefined || jsMbps === undefined ? undefined : sgMbps >= 2 * jsMbps,
  });
  rows.push({ figure: 'iopub throughput, stream text (legacy)', unit: 'MB/s', js: io(r.js, 'legacy')?.mbPerS, eg: io(r.eg, 'legacy')?.mbPerS, sparkgate: io(r.sparkgate, 'legacy')?.mbPerS, floor: io(r.floor, 'zmq')?.mbPerS, ...notes('iopub', all) });
  const c = `${o.concurrency} kernels x ${o.cells} cells`;
  const cn = notes('concurrency', all);
  rows.push({ figure: `concurrency ${c}: throughput`, unit: 'cells/s', js: r.js?.concurrency?.cellsPerS, eg: r.eg?.concurrency?.cellsPerS, sparkgate: r.sparkgate?.concurrency?.cellsPerS, floor: r.floor?.concurrency?.cellsPerS, ...cn });
  rows.push({ figure: `concurrency ${c}: p50 per cell`, unit: 'ms', js: r.js?.concurrency?.latency.p50, eg: r.eg?.concurrency?.latency.p50, sparkgate: r.sparkgate?.concurrency?.latency.p50, floor: r.floor?.concurrency?.latency.p50, ...cn });
  const cp99 = r.sparkgate?.concurrency?.latency.p99;
  rows.push({ figure: `concurrency ${c}: p99 per cell`, unit: 'ms', js: r.js?.concurrency?.latency.p99, eg: r.eg?.concurrency?.latency.p99, sparkgate: cp99, floor: r.floor?.concurrency?.latency.p99, ...cn, target: '< 20 ms', met: below(cp99, 20) });
  const mn = notes('memory', { js: r.js, eg: r.eg, sparkgate: r.sparkgate });
  rows.push({ figure: 'server RSS, 0 kernels', unit: 'MB', js: r.js?.memory?.rss0MB, eg: r.eg?.memory?.rss0MB, sparkgate: r.sparkgate?.memory?.rss0MB, ...mn });
  rows.push({ figure: `server RSS, ${o.idleKernels} idle kernels (no clients)`, unit: 'MB', js: r.js?.memory?.rssNMB, eg: r.eg?.memory?.rssNMB, sparkgate: r.sparkgate?.memory?.rssNMB, ...mn });
  const perKernel = r.sparkgate?.memory?.perKernelMB;
  rows.push({ figure: 'server RSS per idle kernel', unit: 'MB', js: r.js?.memory?.perKernelMB, eg: r.eg?.memory?.perKernelMB, sparkgate: perKernel, ...mn, target: '< 1 MB', met: below(perKernel, 1) });
  if (r.jupyterlab || r.failures?.some((f) => f.phase === 'jupyterlab')) rows.push(...jupyterlabRows(r.jupyterlab, r.failures ?? [], o));
  if (r.users || r.failures?.some((f) => f.phase === 'users')) rows.push(...usersRows(r.users, r.failures ?? [], o));
  const scalaNote = notes('scala', { sparkgate: STANDALONE_TARGETS.scala });
  if (r.scala || scalaNote.sparkgateNote) {
    rows.push({ figure: `\`1+1\` round trip, Scala kernel (scala -Xnojline), p50 of ${r.scala?.samples ?? 100}`, unit: 'ms', sparkgate: r.scala?.p50, ...scalaNote });
  }
  const gcNote = notes('gc', { sparkgate: STANDALONE_TARGETS.gc });
  if (r.gc || gcNote.sparkgateNote) {
    rows.push({ figure: `executor GC, 50 pods (FakeKube), p50 of ${r.gc?.n ?? 0}`, unit: 'ms', sparkgate: r.gc?.p50, ...gcNote });
    rows.push({ figure: `executor GC, 50 pods (FakeKube), p95 of ${r.gc?.n ?? 0}`, unit: 'ms', sparkgate: r.gc?.p95, ...gcNote });
  }
  if (r.spark || r.failures?.some((f) => f.phase === 'spark')) rows.push(...sparkRows(r.spark, r.failures ?? [], o));
  const k8sNote = notes('k8s', { sparkgate: STANDALONE_TARGETS.k8s, floor: STANDALONE_TARGETS.k8s });
  if (r.k8s || k8sNote.sparkgateNote) {
    const { gc, submit, reaper } = r.k8s ?? {};
    const gcRuns = gc?.sparkgate.n ?? 0;
    rows.push({ figure: `executor GC, 50 pods + ConfigMap, real API server, p50 of ${gcRuns} (floor: bare deletecollection + list)`, unit: 'ms', sparkgate: gc?.sparkgate.p50, floor: gc?.floor.p50, ...k8sNote, target: '< 2000 ms', met: below(gc?.sparkgate.p50, 2000) });
    rows.push({ figure: `executor GC, 50 pods + ConfigMap, real API server, max of ${gcRuns}`, unit: 'ms', sparkgate: gc?.sparkgate.max, floor: gc?.floor.max, ...k8sNote });
    rows.push({ figure: `executor GC, same objects, vs \`kubectl delete -l ... --wait\` (anchor, in the floor column), p50`, unit: 'ms', sparkgate: gc?.sparkgate.p50, floor: gc?.kubectl.p50, ...k8sNote });
    const n = submit?.firstExecutor.n ?? 0;
    rows.push({ figure: `job submit to first executor registered (from zero executors), p50 of ${n}`, unit: 'ms', sparkgate: submit?.firstExecutor.p50, ...k8sNote });
    rows.push({ figure: '  of which submit to executor pod created (1 s resolution), p50', unit: 'ms', sparkgate: submit?.toPodCreated.p50, ...k8sNote });
    rows.push({ figure: '  of which pod created to registered (node agent JVM start), p50', unit: 'ms', sparkgate: submit?.podToRegistered.p50, ...k8sNote });
    rows.push({ figure: `reaper after gateway SIGKILL: new gateway start to last of ${reaper?.objects ?? 'n'} objects gone (floor: the grace period)`, unit: 'ms', sparkgate: reaper?.ms, floor: reaper?.graceMs, ...k8sNote });
  }
  return rows;
}
