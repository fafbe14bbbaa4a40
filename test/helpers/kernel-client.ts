/** Helpers for driving kernels through @jupyterlab/services. */
import type { Kernel, KernelMessage } from '@jupyterlab/services';

export interface ExecuteResult {
  reply: KernelMessage.IExecuteReplyMsg;
  iopub: KernelMessage.IIOPubMessage[];
  stdout: string;
  stderr: string;
  results: Record<string, unknown>[];
  displays: Record<string, unknown>[];
  errors: { ename: string; evalue: string; traceback: string[] }[];
}

export async function execute(
  kernel: Kernel.IKernelConnection,
  code: string,
  options: {
    onStdin?: (msg: KernelMessage.IStdinMessage) => void;
    allowStdin?: boolean;
    /**
     * Called on the request's execute_input: the kernel is running the cell's code. (iopub `busy`
     * comes earlier, while ipykernel still ignores SIGINT: an interrupt sent on `busy` can be lost.)
     */
    onRunning?: () => void;
    /** Every iopub message of the request, as it arrives. */
    onIopub?: (msg: KernelMessage.IIOPubMessage) => void;
  } = {},
): Promise<ExecuteResult> {
  const future = kernel.requestExecute({ code, allow_stdin: options.allowStdin ?? false, stop_on_error: false });
  const out: Omit<ExecuteResult, 'reply'> = { iopub: [], stdout: '', stderr: '', results: [], displays: [], errors: [] };
  future.onIOPub = (msg) => {
    out.iopub.push(msg);
    options.onIopub?.(msg);
    const content = msg.content as Record<string, unknown>;
    switch (msg.header.msg_type) {
      case 'execute_input':
        options.onRunning?.();
        break;
      case 'stream':
        if (content['name'] === 'stdout') out.stdout += String(content['text']);
        else out.stderr += String(content['text']);
        break;
      case 'execute_result':
        out.results.push(content['data'] as Record<string, unknown>);
        break;
      case 'display_data':
        out.displays.push(content['data'] as Record<string, unknown>);
        break;
      case 'error':
        out.errors.push(content as unknown as ExecuteResult['errors'][number]);
        break;
      default:
    }
  };
  if (options.onStdin) future.onStdin = options.onStdin;
  const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
  return { reply, ...out };
}

export function waitFor(predicate: () => boolean, timeoutMs = 10_000, label = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (predicate()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${label}`));
      setTimeout(tick, 25);
    };
    tick();
  });
}

/** Whether a process id is alive. */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
