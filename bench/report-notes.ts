/** The notes printed under the table: failed phases, machine, method, and why a Tornado server's round trip is slow. */
import type { AllResults } from './figure-rows.js';
import type { MachineInfo } from './machine-info.js';
import { SPARK_COLD_MAX_RATIO, SPARK_WARM_P95_MS } from './spark-rows.js';
import { WARM_SETTLE_MS, type SparkResults } from './spark-suite.js';
import type { PhaseFailure } from './target-results.js';
import type { UsersResults } from './users-suite.js';

/** Failed phases first: their cells in the table are not figures. Empty when none failed. */
export function failureNotes(failures: readonly PhaseFailure[]): string[] {
  if (failures.length === 0) return [];
  return [
    `**${failures.length} phase result${failures.length === 1 ? '' : 's'} failed** (each failed phase was stopped with every process it started, and the run went on; ` +
      'deadlines: bench/budgets.ts, BENCH_DEADLINE_SCALE, BENCH_<PHASE>_DEADLINE_MS):',
    ...failures.map((f) => `- ${f.target}, ${f.phase}: ${f.message}`),
    '',
  ];
}

export interface RunConditions {
  readonly warmPool: number;
  readonly settleMs: number;
  /** 1-minute load average when the run started and ended (other work on the machine skews figures). */
  readonly loadStart: number;
  readonly loadEnd: number;
  readonly minutes: number;
}

export function reportNotes(m: MachineInfo, r: AllResults, o: RunConditions): string {
  const js = r.js?.rtt['v1']?.p50;
  const jsNd = r.jsNodelay?.rtt['v1']?.p50;
  const eg = r.eg?.rtt['v1']?.p50;
  const nodelay =
    js !== undefined && jsNd !== undefined
      ? `Measured in this run: Jupyter Server 2 p50 ${js.toFixed(1)} ms as shipped, ${jsNd.toFixed(1)} ms with only TCP_NODELAY added (bench/jupyter/nodelay_server.py)` +
        (eg !== undefined ? `; Enterprise Gateway (jupyter_server ${m.egJupyterServer}'s websocket handler) ${eg.toFixed(1)} ms.` : '.')
      : 'Run the rtt phase to measure it (bench/jupyter/nodelay_server.py).';
  const bounds: string[] = [];
  const fc = r.floor?.concurrency;
  if (fc && fc.latency.p99 >= 20) {
    bounds.push(
      `- Concurrency bound: with no server at all the floor's p99 is ${fc.latency.p99.toFixed(0)} ms. ${fc.kernels} kernels each always having a cell ` +
        `in flight at ${fc.cellsPerS.toFixed(0)} cells/s (ipykernel CPU on ${m.cpus} CPUs) means ${fc.kernels} / ${fc.cellsPerS.toFixed(0)} = ` +
        `${((fc.kernels / fc.cellsPerS) * 1000).toFixed(0)} ms per cell on average (Little's law), so no gateway meets "p99 < 20 ms" on this machine; compare with the floor.`,
    );
  }
  const fi = r.floor?.iopub['zmq'];
  const ji = r.js?.iopub['v1'];
  if (fi && ji && fi.mbPerS < 2 * ji.mbPerS) {
    bounds.push(
      `- iopub bound: the floor reaches ${fi.mbPerS.toFixed(2)} MB/s, ${(fi.mbPerS / ji.mbPerS).toFixed(2)}x Jupyter Server 2's (rate limits off): ` +
        'ipykernel producing the output is the bottleneck, so "2x Jupyter Server 2" is out of reach of any server here; compare with the floor.',
    );
  }
  return [
    ...failureNotes(r.failures ?? []),
    `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memGB} GB RAM, Linux ${m.kernel}; Node ${m.node}, zeromq.js ${m.zeromqJs}; ` +
      `kernels: Python ${m.python} (.venv), ipykernel ${m.ipykernel}, pyzmq ${m.pyzmq}, libzmq ${m.libzmq}, pyspark ${m.pyspark}, ${m.java}; ` +
      `Jupyter Server 2: Python ${m.serverPython} (.venv-jupyter), jupyter_server ${m.jupyterServer}, jupyter_client ${m.jupyterClient}, tornado ${m.tornado}; ` +
      `Enterprise Gateway: Python ${m.egPython} (.venv-eg), enterprise_gateway ${m.enterpriseGateway}, jupyter_server ${m.egJupyterServer}, jupyter_client ${m.egJupyterClient}, tornado ${m.egTornado}. ` +
      `Run took ${o.minutes.toFixed(1)} min; 1-min load average ${o.loadStart.toFixed(2)} at start, ${o.loadEnd.toFixed(2)} at end (the bench itself adds about 1-2).`,
    '',
    '- All four targets run the same kernel command line (bench/jupyter/kernels/bench-python: `{python} -m ipykernel_launcher -f {connection_file}`, ' +
      '`{python}` = the project venv\'s .venv/bin/python, rendered by the bench since Jupyter Server knows no such placeholder). ' +
      'Jupyter Server 2, Enterprise Gateway (its LocalProcessProxy: the spec names no process_proxy) and sparkgate are separate processes driven by the same Node websocket client (bench/ws-kernel-client.ts); ' +
      'the floor is a Node ZeroMQ client (src/wire codec) talking to an ipykernel the bench spawned itself.',
    '- Round trip = execute_request sent until both its execute_reply (shell) and its `status: idle` (iopub) arrived. ' +
      'Start = POST /api/kernels until the kernel_info_reply on a fresh websocket (floor: spawn until kernel_info_reply on ZeroMQ).',
    '- Jupyter Server 2 runs with `ZMQChannelsWebsocketConnection.limit_rate=False` (its defaults, 1 MB/s and 1,000 msg/s, would drop output of the iopub cell). ' +
      'Enterprise Gateway runs with `list_kernels=True` (GET /api/kernels is 403 otherwise), its kernel limits at their defaults (max_kernels unbounded, max_kernels_per_user -1) ' +
      'and no EG_*/KG_* variables in its environment; it has no iopub rate limit to switch off (its web app passes none to jupyter_server 1.x\'s handler, which then reads 0).',
    `- Warm pool: sparkgate started with SPARKGATE_WARM_POOL={"bench-python":${o.warmPool}}; before each sample the bench waits for the pool's ready gauge on /metrics to be full again. ` +
      'Jupyter Server 2 and Enterprise Gateway have no pool; their columns on the warm rows are their cold starts.' +
      (r.warm?.poolClaims ? ` Pool claims over the samples: ${JSON.stringify(r.warm.poolClaims)}.` : ''),
    `- Memory: VmRSS of the server process only (kernels are separate processes), median of 5 readings after ${o.settleMs} ms idle ` +
      'and, for sparkgate, a forced full GC (inspector `HeapProfiler.collectGarbage`; CPython frees by reference counting). ' +
      'The 0-kernel baseline follows one kernel started and deleted (code loaded on first use is not per-kernel memory); ' +
      'idle kernels have no websocket client connected. Per kernel = (RSS_n - RSS_0) / n.',
    '- Round trips and iopub run with all targets up side by side, interleaved in rounds, so load from elsewhere falls on all alike; ' +
      'starts, concurrency and memory run one server at a time.',
    '- Ratios are sparkgate divided by the other column (JS2 = Jupyter Server 2, EG = Enterprise Gateway): below 1x is better for times, above 1x for throughputs.',
    '- Why a Tornado kernel server can take ~44 ms for `1+1`: Nagle\'s algorithm on its kernel websocket meeting the client\'s delayed ACK. ' +
      'Tornado switches Nagle back on once the upgrade response is written (tornado/http1connection.py `_finish_request`: `set_nodelay(False)`), ' +
      'and Jupyter Server (1.x, under Enterprise Gateway, and 2.x) never calls `WebSocketHandler.set_nodelay(True)`. One execution sends five small frames (status busy, execute_input, ' +
      'execute_result, execute_reply, status idle); once one is unacknowledged Nagle holds the next until the ACK, which the client delays by ' +
      `Linux's 40 ms minimum because it has nothing to send. ${nodelay} sparkgate's sockets have Nagle off (Node's ws sets noDelay).`,
    ...bounds,
    ...(r.jupyterlab
      ? [
          '- JupyterLab path rows (jupyterlab phase, bench/jupyterlab-path.ts): one sparkgate on the bench kernelspec and, in front of it, two JupyterLab 4 / Jupyter Server 2 processes ' +
            '(.venv-jupyter, `python -m jupyterlab`) in gateway mode (`--gateway-url` = that sparkgate, `--GatewayClient.auth_token` = its token); the client talks to Jupyter Server with ' +
            'Jupyter Server\'s own token, so each cell crosses two websockets. "ext off": `--ServerApp.jpserver_extensions=jupyterlab_sparkgate=False`; "ext on": the jupyterlab_sparkgate ' +
            'extension loaded (checked: its "sparkgate: TCP_NODELAY on kernel websockets" log line), which keeps TCP_NODELAY on both websockets. Jupyter Server in gateway mode selects no ' +
            'websocket subprotocol, so that path runs the legacy protocol (as JupyterLab falls back to); sparkgate direct runs v1, as JupyterLab would against it. Round trips: the four ' +
            'lanes interleaved in blocks of 50, 50 untimed first; concurrency: one target at a time, kernels on the same sparkgate. Target: with the extension, within 1.5x of sparkgate direct ' +
            '(JL on/sparkgate column).',
        ]
      : []),
    ...usersNotes(r.users),
    ...sparkNotes(r.spark),
    ...(r.k8s
      ? [
          '- Kubernetes rows (k8s phase): against a real kube-apiserver 1.36.3 + etcd 3.6.8 + kube-controller-manager on loopback (test/control-plane/), ' +
            'the manifests applied, the gateway acting as ServiceAccount sparkgate. GC: 50 executor pods (not bound to a node: deleted at once; a kubelet adds the executors\' ' +
            'own shutdown on a cluster) and the executor ConfigMap, created anew per run; the three ways alternate. The floor deletes with one deletecollection per kind ' +
            'and polls the lists every 100 ms; kubectl deletes the 50 pods one by one and waits. Submit to first executor: the first time the driver counts more than ' +
            'itself among block managers, from zero executors (dynamic allocation, idle timeout 2 s); executors run through the node agent as local JVMs. ' +
            'Reaper: REAPER_GRACE_MS=3000 (the floor column); the time includes the new gateway\'s own start.',
        ]
      : []),
  ].join('\n');
}

/** How the users rows were measured, and what each of their columns holds. */
export function usersNotes(u: UsersResults | undefined): string[] {
  if (!u) return [];
  const users = u.fileUsers.toLocaleString('en-US');
  return [
    '- Multi-user rows (users phase, bench/users-suite.ts): four `sparkgate serve` processes on the bench kernelspec and a real JupyterHub 6.1.1 (.venv-hub; ' +
      'test/fixtures/jupyterhub/jupyterhub_config.py: dummy authenticator, no proxy, sqlite), all up side by side. ' +
      `**sparkgate column**: the multi-user gateway the row names: SPARKGATE_USERS_FILE with ${users} users, each with a token (SHA-256 digests; the client is the file's last user); ` +
      `or SPARKGATE_JUPYTERHUB_API_URL with the gateway's default cache (${u.cacheSeconds} s) or SPARKGATE_JUPYTERHUB_CACHE_SECONDS=0 (every request asks the Hub), no users file. ` +
      'The multi-user gateways have no shared token (SPARKGATE_TOKEN empty, no --token). ' +
      '**floor column**: single-user mode (one shared --token) measured in the same interleaved blocks, except on the anchor rows, where it holds `GET /hub/api/user` sent straight to the Hub ' +
      'with the same Hub token (what JupyterHub\'s HubAuth asks per uncached request). **sparkgate/floor**: the factor multi-user mode (or, on the anchor rows, the gateway in front of the Hub) costs; ' +
      'the Jupyter Server, Enterprise Gateway and JupyterLab columns do not apply (n/a).',
    '- Multi-user requests: `GET /api/kernels` over one keep-alive connection per lane (node:http, one socket), the body read to its end; each gateway holds one kernel started by ' +
      'its lane\'s user, so every answer is the same one-kernel list. 50 untimed first, then the five lanes (four gateways, the Hub direct) interleaved in blocks of 50. ' +
      'Websocket: a fresh `/api/kernels/{id}/channels` (v1 subprotocol; TCP connect, upgrade with the token check, attach) until the first `kernel_info_reply`, then closed; ' +
      '5 untimed first, the four gateways interleaved in blocks of 10. The cached lane\'s first request fills the cache (untimed), and the cache expires every ' +
      `${u.cacheSeconds} s, so a long run includes a refresh per ${u.cacheSeconds} s, as in production.`,
    '- Multi-user memory: VmRSS of the single-user gateway and of the users-file gateway while both are fresh (no request served, no kernel), after BENCH_SETTLE_MS and a forced full GC, ' +
      'median of 5 readings each; the delta is the loaded file (parsed entries, the digest and name maps), V8 heap its parse left committed, and whatever two processes differ by ' +
      '(1.6-6.6 MB for 1,000 users over four runs on a loaded machine).' +
      (u.memory ? ` Here: ${u.memory.singleMB} MB and ${u.memory.usersFileMB} MB.` : ''),
  ];
}

/** How the Spark rows were measured, and the figures behind their targets. */
export function sparkNotes(s: SparkResults | undefined): string[] {
  if (!s) return [];
  const out = [
    '- Spark rows: sparkgate serves the project kernelspecs (kernel/specs) with the venv python; each Spark session gets SPARK_HOME (the venv\'s pyspark), ' +
      'SPARK_CONF_DIR=kernel/spark-conf and a rendered properties file (local[*], its own ports, spark.ui.proxyBase, in-memory catalog). ' +
      'The floor is a bare pyspark REPL: `.venv/bin/python -i` with pyspark\'s shell.py as PYTHONSTARTUP (what bin/pyspark runs, without spark-submit\'s launcher JVM in front), ' +
      'the same SPARK_HOME, SPARK_CONF_DIR and a properties file rendered by the same renderSparkConf for local mode, via PYSPARK_SUBMIT_ARGS.',
    '- Spark cold start = POST /api/kernels {name: pyspark} until the execute_reply and idle of `spark.range(1000).count()` (result checked: 1000) on a fresh websocket; ' +
      `floor: spawn until the REPL printed 1000. Samples alternate between the two, after one untimed REPL start. Target: p50 within ${SPARK_COLD_MAX_RATIO}x the floor's.`,
    `- Warm-pool claim: a gateway with SPARKGATE_WARM_POOL={"pyspark":1}; before each claim the bench waits for the pool's ready gauge, then ${WARM_SETTLE_MS} ms more; ` +
      `the claim is timed like a cold start, then the same count runs again (its own row: Spark\'s first-job cost left out). Its floor is the first count in a bare REPL that just printed its session banner. Target: p95 < ${SPARK_WARM_P95_MS} ms.` +
      (s.warm ? ` Pool claims: ${JSON.stringify(s.warm.poolClaims)}.` : ''),
    '- Spark `1+1`: on a pyspark session (after its first count) and on a spark-scala session (spark-shell behind the Node adapter), interleaved in blocks of 20 with a plain ipykernel over ZeroMQ ' +
      '(the rtt phase\'s floor), 20 untimed first; same definition as the other round trips.',
    '- Spark memory: gateway VmRSS (after a forced GC) with 0 sessions (after one started and deleted) and with n idle pyspark sessions (each ran the count, no websocket client), ' +
      '(RSS_n - RSS_0) / n; driver tree = RSS of everything below the gateway (kernel python, spark-submit, the JVM) / n; floor = a bare REPL\'s tree after its count, n of them; ' +
      'medians of 3 readings after BENCH_SETTLE_MS. RSS counts shared pages (the JDK, pyspark) in every process.',
  ];
  if (s.memory) {
    out.push(
      `- Spark memory figures: gateway ${s.memory.gatewayRss0MB} MB with 0 sessions, ${s.memory.gatewayRssNMB} MB with ${s.memory.sessions}; ` +
        `driver tree ${s.memory.driverTreeMB} MB per session, bare REPL ${s.memory.floorTreeMB} MB.`,
    );
  }
  return out;
}
