/**
 * Test infrastructure CLI: run the test node agent (node-agent.ts) against a cluster until
 * SIGINT/SIGTERM.
 *   node --import tsx test/control-plane/node-agent-cli.ts --kubeconfig F --namespace NS
 *        --spark-home DIR --work-dir DIR [--node-name N] [--entrypoint SCRIPT]
 */
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { describeKubeError } from '../../src/k8s/kube-errors.js';
import { NodeAgent } from './node-agent.js';

async function main(): Promise<void> {
  const str = { type: 'string' } as const;
  const { values: v } = parseArgs({ options: { kubeconfig: str, namespace: str, 'spark-home': str, 'work-dir': str, 'node-name': str, entrypoint: str } });
  if (!v.kubeconfig || !v.namespace || !v['spark-home'] || !v['work-dir']) {
    console.error('usage: node-agent-cli.ts --kubeconfig F --namespace NS --spark-home DIR --work-dir DIR [--node-name N] [--entrypoint SCRIPT]');
    process.exit(2);
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(v.kubeconfig);
  const logger = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
  const agent = new NodeAgent({
    ...{ kubeConfig, namespace: v.namespace, sparkHome: v['spark-home'], workDir: v['work-dir'], logger },
    ...{ nodeName: v['node-name'], entrypoint: v.entrypoint },
  });
  const shutdown = (signal: string) => {
    logger(`node-agent: ${signal}, stopping`);
    agent.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  await agent.start();
  logger(`node-agent: node ${v['node-name'] ?? 'sparkgate-test-node'} ready, running executor pods of namespace ${v.namespace}`);
}

main().catch((err: unknown) => {
  console.error(`node-agent: ${describeKubeError(err)}`);
  process.exit(1);
});
