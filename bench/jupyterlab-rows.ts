/**
 * The jupyterlab phase's rows (issue 16): `1+1` round trips and the concurrency run through
 * Jupyter Server 2 in gateway mode (the JupyterLab path), sparkgate extension off and on, beside
 * sparkgate direct and the floor measured in the same phase. Target: with the extension, within
 * JUPYTERLAB_MAX_RATIO of sparkgate direct.
 */
import type { JupyterLabResults } from './jupyterlab-path.js';
import { JUPYTERLAB_LABELS, JUPYTERLAB_PROTOCOL } from './jupyterlab-path.js';
import type { FigureRow } from './report-table.js';
import type { PhaseFailure } from './target-results.js';

export const JUPYTERLAB_MAX_RATIO = 1.5;

export interface JupyterLabRowOptions {
  readonly roundTrips: number;
  readonly concurrency: number;
  readonly cells: number;
}

export function jupyterlabRows(r: JupyterLabResults | undefined, failures: readonly PhaseFailure[], o: JupyterLabRowOptions): FigureRow[] {
  const failed = (label: string): string | undefined => {
    const f = failures.find((x) => x.target === label && x.phase === 'jupyterlab');
    if (!f) return undefined;
    const [head, ...rest] = f.message.split('; ');
    return `failed: ${head}${rest.length > 0 ? ' (more in the notes)' : ''}`;
  };
  const notes = {
    ...(failed(JUPYTERLAB_LABELS.sparkgate) ? { sparkgateNote: failed(JUPYTERLAB_LABELS.sparkgate)! } : {}),
    ...(failed(JUPYTERLAB_LABELS.floor) ? { floorNote: failed(JUPYTERLAB_LABELS.floor)! } : {}),
    // A row of this phase shows its JupyterLab columns even when both failed.
    jlOffNote: failed(JUPYTERLAB_LABELS.off) ?? 'n/a',
    jlOnNote: failed(JUPYTERLAB_LABELS.on) ?? 'n/a',
  };
  const within = (on: number | undefined, direct: number | undefined): boolean | undefined => (on === undefined || direct === undefined ? undefined : on <= JUPYTERLAB_MAX_RATIO * direct);
  const target = `ext on <= ${JUPYTERLAB_MAX_RATIO}x sparkgate`;
  const rows: FigureRow[] = [];
  const rtt = (t: 'sparkgate' | 'off' | 'on') => r?.[t].rtt[JUPYTERLAB_PROTOCOL[t]];
  const n = rtt('on')?.n ?? rtt('sparkgate')?.n ?? o.roundTrips;
  for (const p of ['p50', 'p99'] as const) {
    const sg = rtt('sparkgate')?.[p];
    const on = rtt('on')?.[p];
    rows.push({
      figure: `JupyterLab path: \`1+1\` round trip, ${p} of ${n.toLocaleString('en-US')} (sparkgate direct: v1 websocket, floor: ZeroMQ, in the same blocks)`,
      unit: 'ms',
      sparkgate: sg,
      floor: r?.floor.rtt['zmq']?.[p],
      jlOff: rtt('off')?.[p],
      jlOn: on,
      ...notes,
      ...(p === 'p50' ? { target, met: within(on, sg) } : {}),
    });
  }
  const c = `${o.concurrency} kernels x ${o.cells} cells`;
  const cc = (t: 'sparkgate' | 'floor' | 'off' | 'on') => r?.[t].concurrency;
  rows.push({
    figure: `JupyterLab path: concurrency ${c}, throughput`,
    unit: 'cells/s',
    sparkgate: cc('sparkgate')?.cellsPerS,
    floor: cc('floor')?.cellsPerS,
    jlOff: cc('off')?.cellsPerS,
    jlOn: cc('on')?.cellsPerS,
    ...notes,
  });
  for (const p of ['p50', 'p99'] as const) {
    const sg = cc('sparkgate')?.latency[p];
    const on = cc('on')?.latency[p];
    rows.push({
      figure: `JupyterLab path: concurrency ${c}, ${p} per cell`,
      unit: 'ms',
      sparkgate: sg,
      floor: cc('floor')?.latency[p],
      jlOff: cc('off')?.latency[p],
      jlOn: on,
      ...notes,
      ...(p === 'p50' ? { target, met: within(on, sg) } : {}),
    });
  }
  return rows;
}
