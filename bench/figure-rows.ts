/** Issue 5's figures and targets, as table rows built from each target's results. */
import type { FigureRow } from './report-table.js';
import type { Summary } from './stats.js';
import type { TargetResults } from './target-results.js';

export interface AllResults {
  readonly js?: TargetResults;
  readonly jsNodelay?: TargetResults;
  readonly sparkgate?: TargetResults;
  readonly warm?: TargetResults;
  readonly warmNote?: string;
  readonly floor?: TargetResults;
  readonly jupyterClient?: Summary;
  readonly gc?: Summary;
  /** The Scala kernel (issue 4): 1+1 round trips through sparkgate. */
  readonly scala?: { p50: number; p95: number; samples: number };
}

const below = (v: number | undefined, limit: number): boolean | undefined => (v === undefined ? undefined : v < limit);

export function figureRows(r: AllResults, o: { starts: number; roundTrips: number; iopubLines: number; concurrency: number; cells: number; idleKernels: number }): FigureRow[] {
  const rows: FigureRow[] = [];
  const n = (x: number): string => x.toLocaleString('en-US');
  for (const p of ['p50', 'p95'] as const) {
    rows.push({ figure: `kernel start to kernel_info, cold, ${p} of ${o.starts}`, unit: 'ms', js: r.js?.start?.[p], sparkgate: r.sparkgate?.start?.[p], floor: r.floor?.start?.[p] });
  }
  for (const p of ['p50', 'p95'] as const) {
    const v = r.warm?.start?.[p];
    rows.push({
      figure: `kernel start to kernel_info, sparkgate warm pool, ${p} (JS: cold)`,
      unit: 'ms',
      js: r.js?.start?.[p],
      sparkgate: v,
      ...(r.warmNote ? { sparkgateNote: r.warmNote } : {}),
      floor: r.floor?.start?.[p],
      ...(p === 'p95' ? { target: '< 50 ms', met: below(v, 50) } : {}),
    });
  }
  for (const protocol of ['v1', 'legacy'] as const) {
    for (const p of ['p50', 'p99'] as const) {
      const sg = r.sparkgate?.rtt[protocol]?.[p];
      const floor = r.floor?.rtt['zmq']?.[p];
      const target = protocol === 'v1' && p === 'p50';
      rows.push({
        figure: `\`1+1\` round trip, ${protocol} websocket, ${p} of ${n(r.sparkgate?.rtt[protocol]?.n ?? r.js?.rtt[protocol]?.n ?? 0)}`,
        unit: 'ms',
        js: r.js?.rtt[protocol]?.[p],
        sparkgate: sg,
        floor,
        ...(target ? { target: '< 5 ms and <= 1.3x floor', met: sg === undefined || floor === undefined ? undefined : sg < 5 && sg <= 1.3 * floor } : {}),
      });
    }
  }
  rows.push({ figure: '`1+1` round trip p50, Jupyter Server + TCP_NODELAY (experiment)', unit: 'ms', js: r.jsNodelay?.rtt['v1']?.p50 });
  rows.push({ figure: '`1+1` round trip p50, Python jupyter_client to the kernel (2nd floor)', unit: 'ms', floor: r.jupyterClient?.p50 });
  const io = (t: TargetResults | undefined, k: string) => t?.iopub[k];
  rows.push({ figure: `iopub: ${n(o.iopubLines)} lines in one cell, wall time (v1)`, unit: 'ms', js: io(r.js, 'v1')?.wallMs, sparkgate: io(r.sparkgate, 'v1')?.wallMs, floor: io(r.floor, 'zmq')?.wallMs });
  const sgMbps = io(r.sparkgate, 'v1')?.mbPerS;
  const jsMbps = io(r.js, 'v1')?.mbPerS;
  rows.push({
    figure: 'iopub throughput, stream text (v1)',
    unit: 'MB/s',
    js: jsMbps,
    sparkgate: sgMbps,
    floor: io(r.floor, 'zmq')?.mbPerS,
    target: '>= 2x Jupyter Server',
    met: sgMbps === undefined || jsMbps === undefined ? undefined : sgMbps >= 2 * jsMbps,
  });
  rows.push({ figure: 'iopub throughput, stream text (legacy)', unit: 'MB/s', js: io(r.js, 'legacy')?.mbPerS, sparkgate: io(r.sparkgate, 'legacy')?.mbPerS, floor: io(r.floor, 'zmq')?.mbPerS });
  const c = `${o.concurrency} kernels x ${o.cells} cells`;
  rows.push({ figure: `concurrency ${c}: throughput`, unit: 'cells/s', js: r.js?.concurrency?.cellsPerS, sparkgate: r.sparkgate?.concurrency?.cellsPerS, floor: r.floor?.concurrency?.cellsPerS });
  rows.push({ figure: `concurrency ${c}: p50 per cell`, unit: 'ms', js: r.js?.concurrency?.latency.p50, sparkgate: r.sparkgate?.concurrency?.latency.p50, floor: r.floor?.concurrency?.latency.p50 });
  const cp99 = r.sparkgate?.concurrency?.latency.p99;
  rows.push({ figure: `concurrency ${c}: p99 per cell`, unit: 'ms', js: r.js?.concurrency?.latency.p99, sparkgate: cp99, floor: r.floor?.concurrency?.latency.p99, target: '< 20 ms', met: below(cp99, 20) });
  rows.push({ figure: 'server RSS, 0 kernels', unit: 'MB', js: r.js?.memory?.rss0MB, sparkgate: r.sparkgate?.memory?.rss0MB });
  rows.push({ figure: `server RSS, ${o.idleKernels} idle kernels (no clients)`, unit: 'MB', js: r.js?.memory?.rssNMB, sparkgate: r.sparkgate?.memory?.rssNMB });
  const perKernel = r.sparkgate?.memory?.perKernelMB;
  rows.push({ figure: 'server RSS per idle kernel', unit: 'MB', js: r.js?.memory?.perKernelMB, sparkgate: perKernel, target: '< 1 MB', met: below(perKernel, 1) });
  if (r.scala) {
    rows.push({ figure: `\`1+1\` round trip, Scala kernel (scala -Xnojline), p50 of ${r.scala.samples}`, unit: 'ms', sparkgate: r.scala.p50 });
  }
  if (r.gc) {
    rows.push({ figure: `executor GC, 50 pods (FakeKube), p50 of ${r.gc.n}`, unit: 'ms', sparkgate: r.gc.p50 });
    rows.push({ figure: `executor GC, 50 pods (FakeKube), p95 of ${r.gc.n}`, unit: 'ms', sparkgate: r.gc.p95 });
  }
  return rows;
}
