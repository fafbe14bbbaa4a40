/**
 * The selector helper renders what the apiserver parses: checked against FakeKube's parser
 * (apimachinery grammar) and by local matching agreeing with server-side matching.
 */
import { describe, expect, it } from 'vitest';
import {
  executorLabels,
  formatLabelSelector,
  gatewayPodsSelector,
  LabelSelectorError,
  matchesSelector,
  sessionSelector,
  type LabelSelector,
} from '../../../src/k8s/label-selector.js';
import { matchesLabels, parseLabelSelector } from '../../fake-kube/index.js';

const ids = { gatewayPod: 'sparkgate-0', sessionId: '0b7e4a3c-1111-4222-8333-944455556666' };

describe('label selectors', () => {
  it('renders the session and gateway selectors deterministically', () => {
    expect(formatLabelSelector(sessionSelector(ids))).toBe(
      'sparkgate.io/gateway=sparkgate-0,sparkgate.io/session=0b7e4a3c-1111-4222-8333-944455556666',
    );
    expect(formatLabelSelector(gatewayPodsSelector('sparkgate-0'))).toBe(
      'app.kubernetes.io/managed-by=sparkgate,sparkgate.io/gateway=sparkgate-0,sparkgate.io/session',
    );
    expect(
      formatLabelSelector({
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['x', 'y'] },
          { key: 'b', operator: 'NotIn', values: ['z'] },
          { key: 'c', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('a in (x,y),b notin (z),!c');
  });

  it('rejects what would not be a valid selector', () => {
    expect(() => formatLabelSelector(sessionSelector({ ...ids, sessionId: 'has space' }))).toThrow(LabelSelectorError);
    expect(() => formatLabelSelector({ matchLabels: { 'bad key!': 'v' } })).toThrow(/invalid label key/);
    expect(() => formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })).toThrow(/at least one value/);
    expect(() => executorLabels({ ...ids, gatewayPod: 'p'.repeat(64) })).toThrow(/at most 63/);
  });

  it('local matching agrees with the apiserver grammar', () => {
    const selectors: LabelSelector[] = [
      sessionSelector(ids),
      gatewayPodsSelector(ids.gatewayPod),
      { matchExpressions: [{ key: 'spark-exec-inactive', operator: 'NotIn', values: ['true'] }] },
      { matchExpressions: [{ key: 'spark-role', operator: 'In', values: ['executor', 'driver'] }, { key: 'x', operator: 'DoesNotExist' }] },
    ];
    const labelSets: Record<string, string>[] = [
      { ...executorLabels(ids) },
      { ...executorLabels({ ...ids, gatewayPod: 'other' }) },
      { 'sparkgate.io/gateway': 'sparkgate-0' },
      { 'spark-role': 'executor', 'spark-exec-inactive': 'true' },
      { 'spark-role': 'driver', x: '' },
      {},
    ];
    for (const selector of selectors) {
      const parsed = parseLabelSelector(formatLabelSelector(selector));
      for (const labels of labelSets) expect(matchesSelector(selector, labels)).toBe(matchesLabels(parsed, labels));
    }
    expect(matchesSelector(sessionSelector(ids), executorLabels(ids))).toBe(true);
  });
});
