/**
 * The session lifecycle as one pure transition function (ARCHITECTURE.md, "Session lifecycle").
 *
 *            ready              status:busy
 *   starting ─────> idle <──────────────────> busy
 *      │  ▲          │   status:idle            │
 *      │  │ready     │ restart                  │ restart
 *      │  └──── restarting <────────────────────┘
 *      │ start_failed / exited        │ start_failed
 *      v                              v
 *    dead <───── exited (idle, busy) ─┘     dead ──restart──> restarting
 *
 *   any state but ended ──shutdown──> terminating ──cleaned──> ended
 *
 * `dead` means the kernel process exited on its own (or never became ready); its cleanup
 * (ports, files, executors) has run, but the session stays listed until it is deleted or
 * restarted, so clients see why it went away.
 */
export type SessionState = 'starting' | 'idle' | 'busy' | 'restarting' | 'terminating' | 'ended' | 'dead';

export type SessionEvent =
  | { type: 'ready' }
  | { type: 'status'; executionState: 'busy' | 'idle' }
  | { type: 'restart' }
  | { type: 'shutdown' }
  | { type: 'exited' }
  | { type: 'start_failed' }
  | { type: 'cleaned' };

export class InvalidTransition extends Error {
  constructor(
    readonly state: SessionState,
    readonly event: SessionEvent['type'],
  ) {
    super(`cannot ${event} a kernel that is ${state}`);
  }
}

/** The next state, or the same state when the event does not apply (status noise). */
export function transition(state: SessionState, event: SessionEvent): SessionState {
  switch (event.type) {
    case 'ready':
      return state === 'starting' || state === 'restarting' ? 'idle' : state;
    case 'status':
      return state === 'idle' || state === 'busy' ? event.executionState : state;
    case 'restart':
      if (state === 'idle' || state === 'busy' || state === 'dead') return 'restarting';
      throw new InvalidTransition(state, event.type);
    case 'shutdown':
      if (state === 'ended') throw new InvalidTransition(state, event.type);
      return 'terminating';
    case 'exited':
      if (state === 'terminating' || state === 'restarting' || state === 'ended' || state === 'dead') return state;
      return 'dead';
    case 'start_failed':
      return state === 'starting' || state === 'restarting' ? 'dead' : state;
    case 'cleaned':
      return state === 'terminating' ? 'ended' : state;
    default: {
      const never: never = event;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

/** Whether the session still holds resources that an end must release. */
export function isLive(state: SessionState): boolean {
  return state !== 'ended' && state !== 'dead';
}
