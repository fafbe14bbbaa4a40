/**
 * Opens a JupyterLab terminal widget on a sparkgate terminal: @jupyterlab/terminal's Terminal over
 * a @jupyterlab/services TerminalConnection from a TerminalManager whose settings point at the
 * server extension's proxy. The terminal is created by our own POST (the manager's startNew sends
 * only `{name, cwd}`, and attaching needs `kernel_id`), then handed to the manager, which also
 * notices when sparkgate ends it.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, type WidgetTracker } from '@jupyterlab/apputils';
import type { TerminalManager } from '@jupyterlab/services';
import { Terminal } from '@jupyterlab/terminal';
import { terminalIcon } from '@jupyterlab/ui-components';
import type { CreateTerminalBody, SparkgateApi } from './sparkgate-api';

export interface IOpenOptions {
  /** Tab title, e.g. "Spark shell: Untitled.ipynb". */
  label: string;
  /** Where the tab goes (next to the notebook it belongs to, for instance). */
  ref?: string;
  mode?: 'split-right' | 'split-bottom' | 'tab-after' | 'tab-before';
}

export type SparkTerminalWidget = MainAreaWidget<Terminal>;

export async function openSparkTerminal(
  app: JupyterFrontEnd,
  api: SparkgateApi,
  manager: TerminalManager,
  tracker: WidgetTracker<SparkTerminalWidget>,
  body: CreateTerminalBody,
  options: IOpenOptions
): Promise<SparkTerminalWidget> {
  const model = await api.createTerminal(body);
  const connection = manager.connectTo({ model });
  // Closing the tab ends the REPL on sparkgate: a pyspark or spark-shell terminal holds a whole
  // Spark driver (an attached one only a console; the notebook's kernel keeps running).
  const content = new Terminal(connection, { shutdownOnClose: true });
  // The widget names itself "Terminal <name>" once connected (and takes titles a REPL sets):
  // keep ours, which says what the terminal is for.
  content.title.label = options.label;
  content.title.changed.connect(() => {
    if (content.title.label !== options.label) {
      content.title.label = options.label;
    }
  });
  const widget = new MainAreaWidget({ content });
  widget.id = `sparkgate-terminal-${model.name}`;
  widget.title.label = options.label;
  widget.title.icon = terminalIcon;
  widget.title.closable = true;
  widget.addClass('jp-sparkgate-terminal');
  widget.node.dataset.sparkgateTerminal = model.name;
  if (model.kind) {
    widget.node.dataset.sparkgateKind = model.kind;
  }
  void tracker.add(widget);
  app.shell.add(widget, 'main', { ref: options.ref, mode: options.mode ?? 'tab-after' });
  app.shell.activateById(widget.id);
  return widget;
}
