/**
 * The training dashboard: one webview panel showing one run (the latest, or the one whose task just started). It
 * opens with a run's task and can be reopened (*XAI Lens: Show Training Dashboard*); on `ready` it replays the run's
 * events, so hiding or reopening the panel loses nothing without `retainContextWhenHidden`.
 */
import * as vscode from 'vscode';
import type { FromDashboard, ToDashboard } from '../../shared/dashboardProtocol';
import { PANELS } from '../../shared/panels';
import { PanelChannel } from '../webviewPanel';
import type { TrainingRun } from './trainingRun';

export interface DashboardActions {
  explain(run: TrainingRun): void;
  showMistakes(run: TrainingRun): void;
}

/** What the page reported drawing last (read by tests through the extension's API). */
export interface DashboardDrawn {
  runId: number;
  epochs: number;
  confusion: boolean;
  samples: number;
}

export class TrainingDashboard implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private channel?: PanelChannel<ToDashboard, FromDashboard>;
  private run?: TrainingRun;
  private unsubscribe?: () => void;
  drawn?: DashboardDrawn;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly actions: DashboardActions,
  ) {}

  get webviewPanel(): vscode.WebviewPanel | undefined {
    return this.panel;
  }

  get shownRun(): TrainingRun | undefined {
    return this.run;
  }

  /** Shows `run` (opening the panel if needed). */
  show(run: TrainingRun, preserveFocus = true): void {
    if (this.run !== run) {
      this.unsubscribe?.();
      this.run = run;
      this.drawn = undefined;
      this.unsubscribe = run.subscribe({
        event: (event) => this.channel?.post({ type: 'event', event }),
        state: (state, error) => this.channel?.post({ type: 'state', state, error }),
      });
      this.channel?.post({ type: 'run', run: run.info, events: run.events });
    }
    if (this.panel) {
      this.panel.title = `Training · ${run.label}`;
      this.panel.reveal(undefined, preserveFocus);
      return;
    }
    const desc = PANELS.dashboard;
    const panel = vscode.window.createWebviewPanel(desc.viewType, `Training · ${run.label}`, { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, { enableScripts: true });
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'icon.svg');
    this.panel = panel;
    this.channel = new PanelChannel<ToDashboard, FromDashboard>(this.context, panel.webview, desc, (m) => this.onMessage(m), 'Training dashboard');
    panel.onDidDispose(() => {
      this.channel?.dispose();
      this.channel = undefined;
      this.panel = undefined;
    });
  }

  private onMessage(m: FromDashboard): void {
    const run = this.run;
    switch (m.type) {
      case 'ready':
        if (run) this.channel?.post({ type: 'run', run: run.info, events: run.events });
        break;
      case 'stop':
        run?.stop();
        break;
      case 'explain':
        if (run) this.actions.explain(run);
        break;
      case 'showMistakes':
        if (run) this.actions.showMistakes(run);
        break;
      case 'drawn':
        this.drawn = { runId: m.runId, epochs: m.epochs, confusion: m.confusion, samples: m.samples };
        break;
    }
  }

  dispose(): void {
    this.unsubscribe?.();
    this.panel?.dispose();
  }
}
