/**
 * The panel that shows explanations made while debugging. It reuses the explain webview (dist/webview/explain.js)
 * with the same typed messages, plus a small history strip (dist/webview/debugStrip.js) that lists one entry per
 * debugger stop in watch mode. A failed read posts an error line and keeps the last good result on screen.
 */
import * as vscode from 'vscode';
import { openModelSettings } from '../modelSettings';
import type { ExplainResultPayload, FromWebview, ToWebview } from '../../shared/protocol';
import { counterfactualChoices, panelSettings } from '../config';
import { panelHtml } from '../webviewPanel';
import { PANELS } from '../../shared/panels';

export const VIEW_TYPE_DEBUG = 'xaiLens.debugExplain';

/** Extension → history strip (the explain app ignores message types it does not know). */
export type ToDebugStrip =
  | { type: 'xaiLens.debugHistoryAdd'; label: string; result: ExplainResultPayload }
  | { type: 'xaiLens.debugHistoryClear' };

export interface HistoryEntry {
  label: string;
  result: ExplainResultPayload;
}

const HISTORY_LIMIT = 24;

export class DebugExplainPanel implements vscode.Disposable {
  private readonly panel: vscode.WebviewPanel;
  private last?: ExplainResultPayload;
  private lastError?: string;
  readonly history: HistoryEntry[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private readonly closed = new vscode.EventEmitter<void>();
  readonly onDidClose = this.closed.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    /** Re-explains with another layer or class picked in the panel. */
    private readonly onExplain: (change: { layer?: string; target?: number }) => void,
  ) {
    this.panel = vscode.window.createWebviewPanel(VIEW_TYPE_DEBUG, 'XAI Lens · Debug', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview')],
    });
    this.panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'icon.svg');
    this.panel.webview.html = this.html();
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((m: FromWebview) => this.onMessage(m)),
      this.panel.onDidDispose(() => {
        this.closed.fire();
        this.dispose();
      }),
    );
  }

  /** The explain page plus the history strip's script, under the page's own CSP nonce. */
  private html(): string {
    const base = panelHtml(this.context, this.panel.webview, PANELS.explain, 'XAI Lens · Debug');
    const nonce = /'nonce-([^']+)'/.exec(base)?.[1] ?? '';
    const strip = this.panel.webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview', 'debugStrip.js'));
    return base.replace('</body>', `<script type="module" nonce="${nonce}" src="${strip}"></script>\n</body>`);
  }

  private post(m: ToWebview | ToDebugStrip): void {
    void this.panel.webview.postMessage(m);
  }

  private onMessage(m: FromWebview): void {
    if (m.type === 'ready') {
      this.post({
        type: 'init', imageName: this.last?.imagePath ?? 'debugger value', settings: panelSettings(), model: this.last?.model,
        counterfactuals: counterfactualChoices(this.context.extension),
      });
      for (const h of this.history) this.post({ type: 'xaiLens.debugHistoryAdd', label: h.label, result: h.result });
      if (this.last) this.post({ type: 'result', result: this.last });
      if (this.lastError) this.post({ type: 'error', message: this.lastError });
    } else if (m.type === 'explain') {
      this.onExplain({ layer: m.layer, target: m.target });
    } else if (m.type === 'editModelSettings') {
      void openModelSettings(this.context, this.last?.model).then((problem) => problem && this.fail(problem));
    }
  }

  get result(): ExplainResultPayload | undefined {
    return this.last;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  progress(message: string): void {
    this.post({ type: 'progress', done: 0, total: 1, message });
  }

  /** Shows a result; with a label it also joins the history strip (watch mode). */
  show(result: ExplainResultPayload, title: string, historyLabel?: string): void {
    const first = !this.last || this.last.imagePath !== result.imagePath || this.last.model.dir !== result.model.dir;
    this.last = result;
    this.lastError = undefined;
    this.panel.title = `XAI Lens · ${title}`;
    if (first) this.post({ type: 'init', imageName: result.imagePath, settings: panelSettings(), model: result.model });
    this.post({ type: 'result', result });
    if (historyLabel) {
      this.history.push({ label: historyLabel, result });
      if (this.history.length > HISTORY_LIMIT) this.history.shift();
      this.post({ type: 'xaiLens.debugHistoryAdd', label: historyLabel, result });
    }
  }

  /** One line in the panel; the last good result stays. */
  fail(message: string): void {
    this.lastError = message;
    this.post({ type: 'error', message });
  }

  clearHistory(): void {
    this.history.length = 0;
    this.post({ type: 'xaiLens.debugHistoryClear' });
  }

  reveal(): void {
    this.panel.reveal(undefined, true);
  }

  dispose(): void {
    this.disposables.splice(0).forEach((d) => d.dispose());
    this.panel.dispose();
  }
}
