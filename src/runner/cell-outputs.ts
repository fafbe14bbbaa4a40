/**
 * iopub messages -> a code cell's `outputs`, stored as Jupyter stores them (pure; one instance
 * per notebook run because display ids reach across cells). Follows nbclient's
 * `NotebookClient.process_message`/`output` and JupyterLab's OutputArea:
 * - stream: appended to the cell's last output when that is a stream of the same name, with
 *   carriage returns and backspaces applied (nbformat's `coalesce_streams` rules);
 * - display_data / execute_result: appended; one carrying `transient.display_id` also updates
 *   every earlier output shown with that id, in any cell;
 * - update_display_data: updates the outputs shown with its display id in place, adds nothing;
 * - error: appended;
 * - clear_output: clears now, or (wait=true) just before the next output arrives.
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html#messages-on-the-iopub-pub-sub-channel
 */
import type * as nbformat from '@jupyterlab/nbformat';

type Bundle = nbformat.IMimeBundle;
type Shown = nbformat.IDisplayData | nbformat.IExecuteResult;

export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** Text after `\r` (not before a newline) overwrites its line; `\b` deletes the character before it. */
export function applyControlChars(text: string): string {
  let out = text;
  if (out.includes('\r')) out = out.replace(/[^\n]*\r(?=[^\n])/g, '');
  if (out.includes('\b')) {
    let previous;
    do {
      previous = out;
      out = out.replace(/[^\n\b]\x08/g, '');
    } while (out !== previous);
  }
  return out;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function displayIdOf(content: Record<string, unknown>): string | undefined {
  const id = asRecord(content['transient'])['display_id'];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

export class CellOutputCollector {
  private readonly byDisplayId = new Map<string, Shown[]>();
  private clearBeforeNext = false;

  /** Start collecting for a cell: its outputs are reset (a run starts from a clean cell). */
  begin(cell: nbformat.ICodeCell): void {
    cell.outputs = [];
    cell.execution_count = null;
    this.clearBeforeNext = false;
  }

  /** Apply one iopub message whose parent is this cell's execute_request. */
  handle(cell: nbformat.ICodeCell, msgType: string, contentIn: unknown): void {
    const content = asRecord(contentIn);
    switch (msgType) {
      case 'clear_output':
        if (content['wait'] === true) this.clearBeforeNext = true;
        else this.clear(cell);
        return;
      case 'update_display_data':
        this.updateDisplay(content);
        return;
      case 'stream':
        this.stream(cell, String(content['name'] ?? 'stdout'), String(content['text'] ?? ''));
        return;
      case 'display_data':
      case 'execute_result':
        this.show(cell, msgType, content);
        return;
      case 'error':
        this.append(cell, {
          output_type: 'error',
          ename: String(content['ename'] ?? ''),
          evalue: String(content['evalue'] ?? ''),
          traceback: Array.isArray(content['traceback']) ? content['traceback'].map(String) : [],
        });
        return;
      default:
        // status, execute_input, comm_*: not outputs.
        return;
    }
  }

  /** update_display_data: whichever request it answers, update the outputs shown with its display id. */
  updateDisplay(contentIn: unknown): void {
    const content = asRecord(contentIn);
    const id = displayIdOf(content);
    if (id) this.update(id, content);
  }

  /** An output the runner itself adds (a timeout notice). */
  appendError(cell: nbformat.ICodeCell, error: ErrorContent): void {
    this.append(cell, { output_type: 'error', ...error });
  }

  private clear(cell: nbformat.ICodeCell): void {
    cell.outputs = [];
    this.clearBeforeNext = false;
  }

  private append(cell: nbformat.ICodeCell, output: nbformat.IOutput): void {
    if (this.clearBeforeNext) this.clear(cell);
    cell.outputs.push(output);
  }

  private stream(cell: nbformat.ICodeCell, name: string, text: string): void {
    if (this.clearBeforeNext) this.clear(cell);
    const last = cell.outputs[cell.outputs.length - 1];
    if (last && last.output_type === 'stream' && (last as nbformat.IStream).name === name) {
      const stream = last as nbformat.IStream;
      const previous = Array.isArray(stream.text) ? stream.text.join('') : stream.text;
      stream.text = applyControlChars(previous + text);
      return;
    }
    this.append(cell, { output_type: 'stream', name: name as nbformat.StreamType, text: applyControlChars(text) });
  }

  private show(cell: nbformat.ICodeCell, msgType: 'display_data' | 'execute_result', content: Record<string, unknown>): void {
    const data = asRecord(content['data']) as Bundle;
    const metadata = asRecord(content['metadata']) as nbformat.OutputMetadata;
    const output: Shown =
      msgType === 'execute_result'
        ? {
            output_type: 'execute_result',
            data,
            metadata,
            execution_count: typeof content['execution_count'] === 'number' ? content['execution_count'] : null,
          }
        : { output_type: 'display_data', data, metadata };
    const id = displayIdOf(content);
    if (id) {
      this.update(id, content);
      const shown = this.byDisplayId.get(id) ?? [];
      shown.push(output);
      this.byDisplayId.set(id, shown);
    }
    this.append(cell, output);
  }

  private update(id: string, content: Record<string, unknown>): void {
    for (const output of this.byDisplayId.get(id) ?? []) {
      output.data = asRecord(content['data']) as Bundle;
      output.metadata = asRecord(content['metadata']) as nbformat.OutputMetadata;
    }
  }
}
