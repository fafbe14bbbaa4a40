/**
 * jupyterlab-sparkgate: Spark shells and the Spark session of a notebook, for a JupyterLab whose
 * server runs in gateway mode in front of sparkgate.
 *
 * - "Open Spark shell for this notebook" (command, notebook toolbar button): a terminal attached
 *   to the notebook's kernel session (POST /api/terminals {kernel_id}: `jupyter console
 *   --existing` on sparkgate, the same SparkSession, so the notebook's temp views are there).
 * - Launcher: "New PySpark terminal", "New spark-shell terminal", "New Spark SQL terminal" (a
 *   REPL with its own Spark session: POST /api/terminals {kernelspec}).
 * - Status bar: the current notebook's executors and a link to its Spark UI.
 * - "Show session logs for this notebook" (command, notebook toolbar button "Logs"): the driver
 *   log and executor logs of the notebook's kernel session, followed as they grow.
 *
 * All requests go to the server extension's `{base}sparkgate/` routes (sparkgate-api.ts).
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage, ToolbarButton, WidgetTracker } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, type NotebookPanel } from '@jupyterlab/notebook';
import { TerminalManager } from '@jupyterlab/services';
import { IStatusBar } from '@jupyterlab/statusbar';
import { listIcon, terminalIcon } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import { SPARK_TERMINAL_KINDS, SparkgateApi, type SparkTerminalKind } from './sparkgate-api';
import { createSessionLogsWidget, type SessionLogsWidget } from './session-logs';
import { openSparkTerminal, type SparkTerminalWidget } from './spark-terminal';
import { SparkStatus } from './status-item';

const PLUGIN_ID = 'jupyterlab-sparkgate:plugin';

namespace CommandIDs {
  export const notebookShell = 'sparkgate:open-notebook-shell';
  export const newTerminal = 'sparkgate:new-terminal';
  export const openSparkUi = 'sparkgate:open-spark-ui';
  export const sessionLogs = 'sparkgate:open-session-logs';
}

const KIND_LABELS: Record<SparkTerminalKind, string> = {
  pyspark: 'New PySpark terminal',
  'spark-shell': 'New spark-shell terminal',
  'spark-sql': 'New Spark SQL terminal'
};

/** Kernelspecs whose kernels own a SparkSession (sparkgate's kernel.json: metadata.sparkgate.spark). */
const SPARK_KERNELSPECS = new Set(['pyspark', 'spark-sql', 'spark-scala']);

function isKind(value: unknown): value is SparkTerminalKind {
  return typeof value === 'string' && (SPARK_TERMINAL_KINDS as readonly string[]).includes(value);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Spark shells, launchers and the Spark session status for notebooks on sparkgate.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILauncher, IStatusBar, ICommandPalette],
  activate: async (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    launcher: ILauncher | null,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null
  ): Promise<void> => {
    const api = new SparkgateApi(app.serviceManager.serverSettings);
    const gatewayMode = await api.gatewayMode();
    const tracker = new WidgetTracker<SparkTerminalWidget>({ namespace: 'sparkgate-terminal' });
    const logTabs = new WidgetTracker<SessionLogsWidget>({ namespace: 'sparkgate-logs' });
    // sparkgate's terminals, not this server's own (app.serviceManager.terminals); made on first
    // use, so a server without a gateway is never polled.
    let terminalManager: TerminalManager | undefined;
    const terminals = () => (terminalManager ??= new TerminalManager({ serverSettings: api.settings, standby: 'when-hidden' }));

    const isSparkKernel = (specName: string | undefined): boolean => {
      if (!specName) {
        return false;
      }
      const spec = app.serviceManager.kernelspecs.specs?.kernelspecs[specName];
      const meta = (spec?.metadata as { sparkgate?: { spark?: boolean } } | undefined)?.sparkgate;
      return meta?.spark ?? SPARK_KERNELSPECS.has(specName);
    };
    const kernelOf = (panel: NotebookPanel | null | undefined) => panel?.sessionContext.session?.kernel ?? null;

    const openNotebookShell = async (panel: NotebookPanel | null): Promise<void> => {
      const kernel = kernelOf(panel);
      if (!panel || !kernel) {
        await showErrorMessage('Spark shell', 'This notebook has no running kernel to attach a Spark shell to.');
        return;
      }
      try {
        await openSparkTerminal(app, api, terminals(), tracker, { kernel_id: kernel.id }, {
          label: `Spark shell: ${panel.title.label}`,
          ref: panel.id,
          mode: 'split-bottom'
        });
      } catch (err) {
        await showErrorMessage('Spark shell', err as Error);
      }
    };

    app.commands.addCommand(CommandIDs.notebookShell, {
      label: 'Open Spark shell for this notebook',
      caption: "A terminal attached to the notebook's kernel: the same Spark session, variables and temp views",
      icon: terminalIcon,
      isEnabled: () => gatewayMode && kernelOf(notebooks.currentWidget) !== null,
      execute: () => openNotebookShell(notebooks.currentWidget)
    });

    const openSessionLogs = async (panel: NotebookPanel | null): Promise<void> => {
      const kernel = kernelOf(panel);
      if (!panel || !kernel) {
        await showErrorMessage('Session logs', 'This notebook has no running kernel whose logs could be shown.');
        return;
      }
      const open = logTabs.find(w => w.content.sessionId === kernel.id);
      if (open) {
        app.shell.activateById(open.id);
        return;
      }
      const widget = createSessionLogsWidget(api, kernel.id, `Logs: ${panel.title.label}`);
      void logTabs.add(widget);
      app.shell.add(widget, 'main', { ref: panel.id, mode: 'split-bottom' });
      app.shell.activateById(widget.id);
    };

    app.commands.addCommand(CommandIDs.sessionLogs, {
      label: 'Show session logs for this notebook',
      caption: "The driver log and executor logs of the notebook's kernel session, followed as they grow",
      icon: listIcon,
      isEnabled: () => gatewayMode && kernelOf(notebooks.currentWidget) !== null,
      execute: () => openSessionLogs(notebooks.currentWidget)
    });

    app.commands.addCommand(CommandIDs.newTerminal, {
      label: args => (isKind(args.kind) ? KIND_LABELS[args.kind] : 'New Spark terminal'),
      caption: args => `A ${String(args.kind ?? 'Spark')} REPL on sparkgate with its own Spark session`,
      icon: terminalIcon,
      isEnabled: () => gatewayMode,
      execute: async args => {
        const kind = isKind(args.kind) ? args.kind : 'pyspark';
        try {
          await openSparkTerminal(app, api, terminals(), tracker, { kernelspec: kind }, { label: KIND_LABELS[kind].replace(/^New /, '') });
        } catch (err) {
          await showErrorMessage('Spark terminal', err as Error);
        }
      }
    });

    app.commands.addCommand(CommandIDs.openSparkUi, {
      label: 'Open Spark UI for this notebook',
      isEnabled: () => gatewayMode && isSparkKernel(kernelOf(notebooks.currentWidget)?.name),
      execute: () => {
        const kernel = kernelOf(notebooks.currentWidget);
        if (kernel) {
          window.open(api.sparkUiUrl(kernel.id), '_blank', 'noopener');
        }
      }
    });

    if (!gatewayMode) {
      console.info('jupyterlab-sparkgate: this Jupyter Server is not in gateway mode (--gateway-url); Spark shells are off');
      return;
    }

    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        const button = new ToolbarButton({
          className: 'jp-sparkgate-shell-button',
          icon: terminalIcon,
          label: 'Spark shell',
          tooltip: 'Open Spark shell for this notebook',
          onClick: () => void openNotebookShell(panel)
        });
        panel.toolbar.insertItem(10, 'sparkgateShell', button);
        return button;
      }
    });
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        const button = new ToolbarButton({
          className: 'jp-sparkgate-logs-button',
          icon: listIcon,
          label: 'Logs',
          tooltip: 'Show session logs for this notebook',
          onClick: () => void openSessionLogs(panel)
        });
        panel.toolbar.insertItem(11, 'sparkgateLogs', button);
        return button;
      }
    });

    if (launcher) {
      SPARK_TERMINAL_KINDS.forEach((kind, rank) => {
        launcher.add({ command: CommandIDs.newTerminal, args: { kind }, category: 'Spark (sparkgate)', rank });
      });
    }
    if (palette) {
      const category = 'Spark (sparkgate)';
      palette.addItem({ command: CommandIDs.notebookShell, category });
      palette.addItem({ command: CommandIDs.openSparkUi, category });
      palette.addItem({ command: CommandIDs.sessionLogs, category });
      for (const kind of SPARK_TERMINAL_KINDS) {
        palette.addItem({ command: CommandIDs.newTerminal, args: { kind }, category });
      }
    }

    if (statusBar) {
      const status = new SparkStatus({ api });
      const changed = new Signal<SparkStatus, void>(status);
      let watched: NotebookPanel | null = null;
      const follow = () => {
        const panel = notebooks.currentWidget;
        if (panel !== watched) {
          watched?.sessionContext.kernelChanged.disconnect(follow);
          watched = panel;
          panel?.sessionContext.kernelChanged.connect(follow);
        }
        const kernel = kernelOf(panel);
        status.setSession(kernel && isSparkKernel(kernel.name) ? kernel.id : null);
        changed.emit();
      };
      notebooks.currentChanged.connect(follow);
      app.serviceManager.kernelspecs.specsChanged.connect(follow);
      follow();
      statusBar.registerStatusItem(PLUGIN_ID + ':status', {
        item: status,
        align: 'left',
        rank: 5,
        isActive: () => status.active,
        activeStateChanged: changed
      });
    }
  }
};

export default plugin;
