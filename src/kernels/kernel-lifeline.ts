/**
 * The lifeline: every kernel process gets, as fd 3, one end of a pipe whose other end only the
 * gateway holds and never writes to or closes while it runs. When the gateway dies, however it
 * dies (SIGKILL, OOM), the kernel side reads end-of-file. This works under a subreaper too,
 * where the orphaned kernel's parent becomes the subreaper and never PID 1 (so ipykernel's
 * "my parent is now 1" poll never fires).
 *
 * The kernel learns the descriptor from `KERNEL_LIFELINE_FD` (not a SPARKGATE_* name: kernels
 * are meant to see it). Kernels of ours watch it: the Scala adapter (below, `watchLifeline`) and
 * the Python launcher (`kernel/python/sparkgate_kernel/lifeline.py`). Kernels that do not (a
 * plain `python -m ipykernel_launcher` kernelspec, any third-party kernel) are ended by the
 * orphan guard (orphan-guard.ts), which watches the same kind of pipe for the whole gateway.
 */
import net from 'node:net';

export const LIFELINE_ENV = 'KERNEL_LIFELINE_FD';
/** Right after stdin, stdout and stderr. */
export const LIFELINE_FD = 3;

/**
 * Kernel side, for kernels written for Node: calls `onGone` once when the gateway's end closes.
 * The variable is removed from `env` so processes the kernel starts do not take fd 3 for a
 * lifeline. Returns false when there is none (the kernel was not started by a gateway). The
 * watch does not keep the process alive.
 */
export function watchLifeline(env: NodeJS.ProcessEnv, onGone: () => void): boolean {
  const raw = env[LIFELINE_ENV];
  delete env[LIFELINE_ENV];
  if (raw === undefined || !/^\d+$/.test(raw)) return false;
  let socket: net.Socket;
  try {
    // A pipe or socketpair end; libuv reads it without blocking a thread.
    socket = new net.Socket({ fd: Number(raw), readable: true, writable: false });
  } catch {
    return false;
  }
  let fired = false;
  const gone = (): void => {
    if (fired) return;
    fired = true;
    socket.destroy();
    onGone();
  };
  socket.on('data', () => undefined); // nothing is ever sent: read only to see the end
  socket.once('end', gone);
  socket.once('close', gone);
  socket.once('error', gone);
  socket.unref();
  return true;
}
