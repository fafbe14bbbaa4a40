/** Shared inputs for the src/spark unit tests. */
import { GatewayError, isGatewayError } from '../../../src/errors.js';
import { type SparkSettings, type SparkSettingsInput, sparkSettingsSchema } from '../../../src/spark/index.js';

export const SESSION_ID = '0b6a1f8e-3c1d-4e5f-9a7b-2c3d4e5f6a7b';
export const PORTS = { driverPort: 40003, blockManagerPort: 40103, uiPort: 40203 } as const;

/** What a StatefulSet pod gets from the downward API plus the operator's image. */
export const K8S_INPUT: SparkSettingsInput = {
  mode: 'kubernetes',
  namespace: 'spark',
  podName: 'sparkgate-0',
  podUid: '5f0c7a9e-0000-4000-8000-000000000001',
  podIp: '10.42.0.17',
  headlessService: 'sparkgate-drivers',
  image: 'registry.example.com/spark:3.5.3',
  serviceAccount: 'sparkgate-executor',
};

export const k8sSettings = (extra: Partial<SparkSettingsInput> = {}): SparkSettings =>
  sparkSettingsSchema.parse({ ...K8S_INPUT, ...extra });

export const localSettings = (extra: Partial<SparkSettingsInput> = {}): SparkSettings =>
  sparkSettingsSchema.parse(extra);

/** Run `fn`, expect a GatewayError, return it. */
export function gatewayError(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (isGatewayError(err)) return err;
    throw err;
  }
  throw new Error('expected a GatewayError, nothing was thrown');
}

/** Issues of a failed settings parse as "path: message" lines. */
export function settingsIssues(input: unknown): string[] {
  const result = sparkSettingsSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}
