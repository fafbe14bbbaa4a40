/**
 * The spark phase's table rows (issue 11): sparkgate's Spark sessions in the sparkgate column,
 * their floor (a bare pyspark REPL on the same Spark and conf, or for `1+1` the plain ipykernel
 * over ZeroMQ) in the floor column. The Jupyter Server column stays empty: it has no Spark.
 */
import type { FigureRow } from './report-table.js';
import { SPARK_TARGETS, type SparkResults } from './spark-suite.js';
import type { PhaseFailure } from './target-results.js';

/** Issue 11's targets. */
export const SPARK_COLD_MAX_RATIO = 1.1;
export const SPARK_WARM_P95_MS = 300;

export function sparkRows(s: SparkResults | undefined, failures: readonly PhaseFailure[], o: { sparkStarts: number; sparkWarmStarts: number; sparkRoundTrips: number; sparkSessions: number }): FigureRow[] {
  const failed = (target: string): string | undefined => {
    const f = failures.find((x) => x.target === target && x.phase === 'spark');
    if (!f) return undefined;
    const [head, ...rest] = f.message.split('; ');
    return `failed: ${head}${rest.length > 0 ? ' (more in the notes)' : ''}`;
  };
  /** Both columns of a part say it failed. */
  const both = (target: string): Pick<FigureRow, 'sparkgateNote' | 'floorNote'> => {
    const note = failed(target);
    return note ? { sparkgateNote: note, floorNote: note } : {};
  };
  const rows: FigureRow[] = [];
  const cold = s?.start;
  const coldN = both(SPARK_TARGETS.start);
  const coldMet = cold ? cold.gateway.p50 <= SPARK_COLD_MAX_RATIO * cold.floor.p50 : undefined;
  rows.push({
    figure: `pyspark cold start to first \`spark.range(1000).count()\`, p50 of ${cold?.gateway.n ?? o.sparkStarts} (floor: bare pyspark REPL)`,
    unit: 'ms',
    sparkgate: cold?.gateway.p50,
    floor: cold?.floor.p50,
    ...coldN,
    target: `<= ${SPARK_COLD_MAX_RATIO}x floor`,
    met: coldMet,
  });
  rows.push({ figure: `pyspark cold start to first count, max of ${cold?.gateway.n ?? o.sparkStarts}`, unit: 'ms', sparkgate: cold?.gateway.max, floor: cold?.floor.max, ...coldN });
  const warm = s?.warm;
  const warmNote = failed(SPARK_TARGETS.warm);
  for (const p of ['p50', 'p95'] as const) {
    rows.push({
      figure: `pyspark warm-pool claim to first count, ${p} of ${warm?.claim.n ?? o.sparkWarmStarts} (floor: first count in a just-started bare REPL)`,
      unit: 'ms',
      sparkgate: warm?.claim[p],
      floor: cold?.floorFirstCount[p],
      ...(warmNote ? { sparkgateNote: warmNote } : {}),
      ...(coldN.floorNote ? { floorNote: coldN.floorNote } : {}),
      ...(p === 'p95' ? { target: `< ${SPARK_WARM_P95_MS} ms`, met: warm ? warm.claim.p95 < SPARK_WARM_P95_MS : undefined } : {}),
    });
  }
  rows.push({
    figure: `pyspark warm-pool claim: the same count again on the claimed session, p50 of ${warm?.secondCount.n ?? o.sparkWarmStarts}`,
    unit: 'ms',
    sparkgate: warm?.secondCount.p50,
    ...(warmNote ? { sparkgateNote: warmNote } : {}),
  });
  const rtt = s?.rtt;
  const rttN = both(SPARK_TARGETS.rtt);
  const scalaNote = failed(SPARK_TARGETS.scala);
  for (const p of ['p50', 'p95'] as const) {
    rows.push({ figure: `\`1+1\` round trip, pyspark kernel, ${p} of ${rtt?.pyspark?.n ?? o.sparkRoundTrips} (floor: plain ipykernel, ZeroMQ)`, unit: 'ms', sparkgate: rtt?.pyspark?.[p], floor: rtt?.floor?.[p], ...rttN });
  }
  for (const p of ['p50', 'p95'] as const) {
    rows.push({
      figure: `\`1+1\` round trip, spark-scala kernel (spark-shell), ${p} of ${rtt?.sparkScala?.n ?? o.sparkRoundTrips} (floor: plain ipykernel, ZeroMQ)`,
      unit: 'ms',
      sparkgate: rtt?.sparkScala?.[p],
      floor: rtt?.floor?.[p],
      ...rttN,
      ...(scalaNote && !rttN.sparkgateNote ? { sparkgateNote: scalaNote } : {}),
    });
  }
  const m = s?.memory;
  const memN = both(SPARK_TARGETS.memory);
  const sessions = m?.sessions ?? o.sparkSessions;
  rows.push({ figure: `gateway RSS per idle pyspark session (${sessions} sessions)`, unit: 'MB', sparkgate: m?.gatewayPerSessionMB, ...(memN.sparkgateNote ? { sparkgateNote: memN.sparkgateNote } : {}) });
  rows.push({ figure: `driver process tree RSS per idle session (kernel python + JVM; floor: bare REPL's python + JVM)`, unit: 'MB', sparkgate: m?.driverTreeMB, floor: m?.floorTreeMB, ...memN });
  rows.push({
    figure: 'memory per idle pyspark session, gateway share + driver tree',
    unit: 'MB',
    sparkgate: m ? Math.round((m.gatewayPerSessionMB + m.driverTreeMB) * 10) / 10 : undefined,
    floor: m?.floorTreeMB,
    ...memN,
  });
  return rows;
}
