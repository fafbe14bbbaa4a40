/**
 * `/api/terminals` and `/terminals/websocket/{name}`: Jupyter Server's terminals API, so
 * `@jupyterlab/services`' TerminalManager works unchanged. Thin handlers; policy lives in
 * TerminalManager, the wire in terminado-codec.ts. Same token auth and `{message, reason}` errors
 * as every other route.
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import { bridgeTerminalSocket } from '../../terminals/terminal-socket.js';
import type { TerminalManager } from '../../terminals/terminal-manager.js';
import { createTerminalBodySchema, terminalModelSchema, terminalNameSchema } from '../../terminals/terminal-models.js';
import { requireWebsocketUpgrade } from '../protocol-errors.js';
import type { ServerDeps } from '../server.js';
import { parseBody } from './kernels.js';
import type { FastifyRequest } from 'fastify';
import { canAccess, ownerOf } from '../../users/identity.js';
import { identityOf, visibleKernel } from '../ownership.js';

/** A terminal name from the URL: well-formed or 404, like kernel ids. */
function terminalNameParam(name: string): string {
  if (!terminalNameSchema.safeParse(name).success) throw errors.terminalNotFound(name.slice(0, 64));
  return name;
}

export function registerTerminalRoutes(app: FastifyInstance, deps: ServerDeps, terminals: TerminalManager): void {
  const wsGauge = deps.metrics.websocketConnections.labels('terminal');
  const model = (name: string) => terminalModelSchema.parse(terminals.model(terminals.get(name)));
  /** A terminal the caller may see, or 404 as if it did not exist. */
  const visible = (req: FastifyRequest, name: string) => {
    const terminal = terminals.get(terminalNameParam(name));
    if (!canAccess(identityOf(req), terminals.ownerOf(terminal.name))) throw errors.terminalNotFound(terminal.name);
    return terminal;
  };

  app.get('/api/terminals', async (req) => {
    const identity = identityOf(req);
    return terminals
      .list()
      .filter((t) => canAccess(identity, terminals.ownerOf(t.name)))
      .map((t) => terminalModelSchema.parse(terminals.model(t)));
  });

  // Jupyter Server answers 200 (not 201) and @jupyterlab/services checks for exactly that.
  app.post('/api/terminals', async (req) => {
    if (typeof req.body !== 'object' && req.body !== undefined) throw errors.invalidBody('Request body must be a JSON object');
    const body = parseBody(createTerminalBodySchema, req.body);
    // Attaching needs the kernel to be the caller's (or the caller an admin).
    if (body.kernel_id) visibleKernel(deps, req, body.kernel_id);
    const terminal = await terminals.create(body, ownerOf(identityOf(req)));
    return model(terminal.name);
  });

  app.get<{ Params: { name: string } }>('/api/terminals/:name', async (req) => model(visible(req, req.params.name).name));

  app.delete<{ Params: { name: string } }>('/api/terminals/:name', async (req, reply) => {
    await terminals.shutdown(visible(req, req.params.name).name);
    return reply.status(204).send();
  });

  app.get<{ Params: { name: string } }>(
    '/terminals/websocket/:name',
    {
      websocket: true,
      // Before the upgrade: an unknown terminal is a plain 404 with the usual error body.
      preValidation: async (req) => {
        const terminal = visible(req, req.params.name);
        if (terminal.state !== 'running') throw errors.terminalNotFound(terminal.name);
        requireWebsocketUpgrade(req);
        if (terminal.connections >= deps.config.maxConnectionsPerSession) {
          throw errors.maxConnections(`Terminal ${terminal.name}`, deps.config.maxConnectionsPerSession);
        }
      },
    },
    (socket, req) => {
      const terminal = terminals.find(req.params.name);
      if (!terminal || terminal.state === 'ended') {
        socket.close(1011, 'terminal went away');
        return;
      }
      wsGauge.inc();
      socket.once('close', () => wsGauge.dec());
      bridgeTerminalSocket(socket, terminal, {
        maxStdinFrameBytes: terminals.options.maxStdinFrameBytes,
        maxStdinBacklogBytes: terminals.options.maxStdinBacklogBytes,
        log: req.log,
        onRejected: () => deps.metrics.rejectedMessages.inc(),
      });
    },
  );
}
