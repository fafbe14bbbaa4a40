/**
 * The real `isFree` probe for PortAllocator, the only I/O in src/spark: try to bind the port on
 * all interfaces (where the driver will bind it), then let it go. It cannot rule out a race
 * with a process binding the port right after; `spark.port.maxRetries=0` makes that a clear
 * start failure instead of a silent move into another session's port.
 */
import net from 'node:net';

export function isPortFree(port: number, host = '0.0.0.0'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}
