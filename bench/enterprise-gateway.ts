/**
 * Jupyter Enterprise Gateway 3.3.0 (requirements/enterprise-gateway.txt, .venv-eg) as a separate
 * process: `.venv-eg/bin/jupyter enterprisegateway` (jupyter_core execs jupyter-enterprisegateway,
 * so the pid is the gateway's own), on the bench kernelspec. The spec has no `process_proxy` in
 * its metadata, so EG launches it with its LocalProcessProxy: the same argv, the project venv's
 * python and ipykernel as every other target, a local process per kernel. It serves the same
 * REST and websocket API (`/api/kernels`, `/api/kernels/{id}/channels`, v1 and legacy
 * subprotocols from jupyter_server 1.24), so the bench drives it like Jupyter Server.
 *
 * Its options (EnterpriseGatewayApp traits, enterprise_gateway/mixins.py of 3.3.0), and why:
 * - ip, port, port_retries=0, auth_token: loopback, a free port of the bench's choosing (no
 *   silent retry onto another), the token the bench sends as `Authorization: token ...`.
 * - list_kernels=True: EG answers GET /api/kernels with 403 unless listing is on (its default is
 *   off, unlike Jupyter Server); the bench's KernelServer lists kernels.
 * - unauthorized_users=[] (in jupyter_enterprise_gateway_config.json: a set is not written on its
 *   command line): EG refuses, with 403, to start a kernel whose KERNEL_USERNAME (default: the
 *   gateway's own user) is in this set, `{"root"}` by default, and the bench runs as root on CI.
 *   The other targets run the kernel as the same user without such a check; the request stays
 *   the same `{"name": ...}` for all of them (no KERNEL_USERNAME sent).
 * - Limits: max_kernels (unbounded by default, None) and max_kernels_per_user (-1: off) stay at
 *   their defaults, and every EG_* / KG_* variable of the machine is dropped from its
 *   environment, so neither can cap the 100 idle kernels nor set anything else behind the
 *   bench's back. There is no iopub rate limit to switch off: EG's web app does not pass
 *   iopub_msg_rate_limit / iopub_data_rate_limit to jupyter_server 1.24's ZMQChannelsHandler,
 *   which then reads 0 (no limit); the iopub phase checks every byte arrived anyway. Culling
 *   (cull_idle_timeout) is off by default; ws_ping_interval (30 s) does not touch the figures.
 * - log_level=WARN like the other servers: EG logs every kernel start and request at INFO.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DeadlineScope } from './deadline.js';
import type { KernelServer } from './kernel-server.js';
import { freePort } from './processes.js';
import { EG_JUPYTER } from './python-envs.js';
import { startTornadoServer, tornadoHome } from './tornado-server.js';

export const ENTERPRISE_GATEWAY_LABEL = 'Enterprise Gateway';

/** The machine's EG settings (EG_MAX_KERNELS, EG_LIST_KERNELS, KG_*: the Kernel Gateway names EG still reads). */
const EG_SETTING = /^(EG|KG)_/;

/** Resolves once it answers /api/kernelspecs (token checked, specs loaded); stopped if it does not within WAIT_MS.serverUp. */
export async function startEnterpriseGateway(scope: DeadlineScope): Promise<KernelServer> {
  const port = await freePort();
  const token = `bench-${Math.random().toString(36).slice(2)}`;
  const home = tornadoHome(`enterprise-gateway-${port}`);
  // Read from JUPYTER_CONFIG_DIR (EnterpriseGatewayApp.config_file_name); see unauthorized_users above.
  writeFileSync(path.join(home.config, 'jupyter_enterprise_gateway_config.json'), `${JSON.stringify({ EnterpriseGatewayApp: { unauthorized_users: [] } }, null, 2)}\n`);
  const args = [
    'enterprisegateway',
    '--EnterpriseGatewayApp.ip=127.0.0.1',
    `--EnterpriseGatewayApp.port=${port}`,
    '--EnterpriseGatewayApp.port_retries=0',
    `--EnterpriseGatewayApp.auth_token=${token}`,
    '--EnterpriseGatewayApp.list_kernels=True',
    '--EnterpriseGatewayApp.log_level=WARN',
  ];
  return startTornadoServer(scope, { label: ENTERPRISE_GATEWAY_LABEL, command: EG_JUPYTER, args, port, token, readyPath: '/api/kernelspecs', dropEnv: (name) => EG_SETTING.test(name) }, home);
}
