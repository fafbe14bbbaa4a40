/**
 * The one catalog of errors the gateway reports to clients.
 *
 * Every error a client can see is a GatewayError with an HTTP status and a stable `reason`
 * code; the HTTP layer maps it to a `{message, reason}` body, the shape
 * `@jupyterlab/services`' `ServerConnection.ResponseError` reads. Messages never carry stack
 * traces, tokens or env values.
 */
export class GatewayError extends Error {
  readonly status: number;
  readonly reason: string;

  constructor(status: number, reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayError';
    this.status = status;
    this.reason = reason;
  }

  toJSON(): { message: string; reason: string } {
    return { message: this.message, reason: this.reason };
  }
}

/**
 * A client-supplied string made safe to put in a message: control characters replaced, cut to
 * `max` characters. Ids and names that reach an error message come from URLs.
 */
export function printable(text: string, max = 64): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.slice(0, max).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return text.length > max ? `${clean}…` : clean;
}

/** Factories, one per reason, so call sites cannot drift in status or wording. */
export const errors = {
  badRequest: (message: string) => new GatewayError(400, 'bad_request', message),
  invalidJson: (message: string) => new GatewayError(400, 'invalid_json', message),
  invalidBody: (message: string) => new GatewayError(400, 'invalid_body', message),
  invalidEnv: (message: string) => new GatewayError(400, 'invalid_env', message),
  unauthorized: () =>
    new GatewayError(
      401,
      'unauthorized',
      'Missing or invalid token: send "Authorization: token <TOKEN>" or ?token=<TOKEN>',
    ),
  forbidden: (message: string) => new GatewayError(403, 'forbidden', message),
  maxKernels: (limit: number) =>
    new GatewayError(
      403,
      'max_kernels',
      `Kernel limit reached: this gateway allows at most ${limit} kernels (setting maxKernels); shut one down first`,
    ),
  maxConnections: (what: string, limit: number) =>
    new GatewayError(
      403,
      'max_connections',
      `${what} already has ${limit} open websockets (setting maxConnectionsPerSession); close one first`,
    ),
  policyLimit: (setting: string, message: string) =>
    new GatewayError(403, 'policy_limit', `${message} (limit: ${setting})`),
  notFound: (message: string) => new GatewayError(404, 'not_found', message),
  kernelNotFound: (id: string) => new GatewayError(404, 'kernel_not_found', `Kernel does not exist: ${printable(id)}`),
  sessionNotFound: (id: string) => new GatewayError(404, 'session_not_found', `Session does not exist: ${printable(id)}`),
  kernelspecNotFound: (name: string) =>
    new GatewayError(404, 'kernelspec_not_found', `No such kernelspec: ${JSON.stringify(printable(name))}`),
  conflict: (message: string) => new GatewayError(409, 'conflict', message),
  payloadTooLarge: (limitBytes: number) =>
    new GatewayError(413, 'payload_too_large', `Request body exceeds ${limitBytes} bytes (setting maxBodyBytes)`),
  kernelStartFailed: (message: string) => new GatewayError(500, 'kernel_start_failed', message),
  kernelNotReady: (message: string) => new GatewayError(409, 'kernel_not_ready', message),
  unavailable: (message: string) => new GatewayError(503, 'unavailable', message),
  identityUnavailable: (message: string) => new GatewayError(503, 'identity_unavailable', message),
  /** A per-user or per-team limit of the users file; `limit` names it, e.g. "team analytics maxCores". */
  quotaExceeded: (limit: string, message: string) => new GatewayError(403, 'quota_exceeded', `${message} (limit: ${limit})`),
  internal: () => new GatewayError(500, 'internal_error', 'Internal server error; see the gateway log'),
  terminalNotFound: (name: string) => new GatewayError(404, 'terminal_not_found', `Terminal does not exist: ${printable(name)}`),
  terminalExists: (name: string) =>
    new GatewayError(409, 'terminal_exists', `A terminal named ${JSON.stringify(name)} already exists; pick another name or omit it`),
  maxTerminals: (limit: number) =>
    new GatewayError(
      403,
      'max_terminals',
      `Terminal limit reached: this gateway allows at most ${limit} terminals (TerminalsExtension option maxTerminals); close one first`,
    ),
  terminalStartFailed: (message: string) => new GatewayError(500, 'terminal_start_failed', message),
  kernelNotPython: (id: string, language: string) =>
    new GatewayError(
      400,
      'kernel_not_python',
      `Kernel ${id} runs ${JSON.stringify(language)}; a terminal can attach only to a Python kernel (jupyter console)`,
    ),
} as const;

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}
