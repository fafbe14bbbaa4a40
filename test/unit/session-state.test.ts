import { describe, expect, it } from 'vitest';
import { InvalidTransition, isLive, transition, type SessionState } from '../../src/kernels/session-state.js';

describe('session state machine', () => {
  it('follows the documented happy path', () => {
    let s: SessionState = 'starting';
    s = transition(s, { type: 'ready' });
    expect(s).toBe('idle');
    s = transition(s, { type: 'status', executionState: 'busy' });
    expect(s).toBe('busy');
    s = transition(s, { type: 'status', executionState: 'idle' });
    expect(s).toBe('idle');
    s = transition(s, { type: 'shutdown' });
    expect(s).toBe('terminating');
    s = transition(s, { type: 'cleaned' });
    expect(s).toBe('ended');
  });

  it('ignores status noise outside idle/busy', () => {
    expect(transition('starting', { type: 'status', executionState: 'busy' })).toBe('starting');
    expect(transition('terminating', { type: 'status', executionState: 'idle' })).toBe('terminating');
  });

  it('a process exit is death only for a running kernel', () => {
    expect(transition('idle', { type: 'exited' })).toBe('dead');
    expect(transition('busy', { type: 'exited' })).toBe('dead');
    expect(transition('restarting', { type: 'exited' })).toBe('restarting');
    expect(transition('terminating', { type: 'exited' })).toBe('terminating');
  });

  it('restarts from idle, busy and dead, not while starting or ended', () => {
    expect(transition('dead', { type: 'restart' })).toBe('restarting');
    expect(transition('busy', { type: 'restart' })).toBe('restarting');
    expect(() => transition('starting', { type: 'restart' })).toThrow(InvalidTransition);
    expect(() => transition('ended', { type: 'shutdown' })).toThrow(InvalidTransition);
    expect(transition('restarting', { type: 'start_failed' })).toBe('dead');
  });

  it('isLive', () => {
    expect(isLive('idle')).toBe(true);
    expect(isLive('dead')).toBe(false);
    expect(isLive('ended')).toBe(false);
  });
});
