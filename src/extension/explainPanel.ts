/**
 * The one explain panel, which follows you like the Markdown preview: *Explain* opens it beside the editor (or in the
 * other existing group: never a new one) and later reuses it; switching to another image editor (the image preview,
 * the custom editor, or selecting an image in the explorer, which opens its preview) re-targets it unless it is
 * locked. Hidden, it pauses its remaining work; results are cached per image + model + settings.
 */
import * as vscode from 'vscode';
import { basename } from 'node:path';
import { PANELS } from '../shared/panels';
import type { EngineClient } from './engineClient';
import { ExplainView, type ExplainViewOptions } from './explainView';
import type { ResultCache } from './resultCache';

export const IMAGE_EXT = /\.(png|jpe?g)$/i;

/** The image a tab shows, if it is a PNG or JPEG (text, custom and built-in image preview tabs). */
export function imageOfTab(tab: vscode.Tab | undefined): vscode.Uri | undefined {
  const input = tab?.input;
  const uri = input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText ? input.uri : undefined;
  return uri && uri.scheme === 'file' && IMAGE_EXT.test(uri.fsPath) ? uri : undefined;
}

function isExplainTab(tab: vscode.Tab | undefined): boolean {
  return tab?.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith(PANELS.explain.viewType);
}

/**
 * Where a new panel goes: the group right of the active one if there is one, else any other existing group, else
 * beside the active editor (in an empty editor area that is the one empty group).
 */
function columnForNewPanel(): vscode.ViewColumn {
  const groups = vscode.window.tabGroups.all;
  const active = vscode.window.tabGroups.activeTabGroup;
  if (groups.length < 2) return vscode.ViewColumn.Beside;
  const right = groups.find((g) => g.viewColumn === active.viewColumn + 1);
  return (right ?? groups.find((g) => g !== active) ?? active).viewColumn;
}

export class ExplainPanel implements vscode.Disposable {
  private entry?: { panel: vscode.WebviewPanel; view: ExplainView };
  private isLocked = false;
  /** The image of the active editor when we last looked: only a change of it re-targets the panel. */
  private lastActive?: string;
  private followTimer?: ReturnType<typeof setTimeout>;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly engine: EngineClient,
    private readonly cache: ResultCache,
    private readonly modelLabel: (dir: string) => string,
    private readonly timeline?: ExplainViewOptions['timeline'],
  ) {
    const follow = () => {
      clearTimeout(this.followTimer);
      // Debounced: paging through images with the arrow keys explains the one you stop at.
      this.followTimer = setTimeout(() => this.followActiveEditor(), 120);
    };
    this.subscriptions.push(
      vscode.window.tabGroups.onDidChangeTabs(follow),
      vscode.window.tabGroups.onDidChangeTabGroups(follow),
      vscode.commands.registerCommand('xaiLens.togglePanelLock', () => this.setLocked(!this.isLocked)),
    );
    void vscode.commands.executeCommand('setContext', 'xaiLens.panelLocked', false);
    this.lastActive = this.activeImage()?.fsPath;
  }

  private activeImage(): vscode.Uri | undefined {
    return imageOfTab(vscode.window.tabGroups.activeTabGroup.activeTab);
  }

  /** The panel and its view, while it is open. */
  get current(): { panel: vscode.WebviewPanel; view: ExplainView } | undefined {
    return this.entry;
  }

  get locked(): boolean {
    return this.isLocked;
  }

  setLocked(locked: boolean): void {
    this.isLocked = locked;
    void vscode.commands.executeCommand('setContext', 'xaiLens.panelLocked', locked);
    if (this.entry) {
      this.entry.view.setLocked(locked);
      this.updateTitle();
    }
    // Unlocked, it shows the active image again (if that is an image).
    if (!locked) this.followActiveEditor(true);
  }

  /** Explains `image` with `modelDir` in the panel: creates it the first time, then re-targets and reveals it. */
  show(image: vscode.Uri, modelDir: string): ExplainView {
    // An explicit request wins over the editor that happens to be active: follow only later changes of it.
    this.lastActive = this.activeImage()?.fsPath;
    if (this.entry) {
      void this.entry.view.retarget(image, modelDir);
      this.updateTitle();
      if (!this.entry.panel.visible) this.entry.panel.reveal(undefined, true);
      return this.entry.view;
    }
    const panel = vscode.window.createWebviewPanel(
      PANELS.explain.viewType,
      PANELS.explain.title,
      { viewColumn: columnForNewPanel(), preserveFocus: true },
      { enableScripts: true },
    );
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'icon.svg');
    const view = new ExplainView(this.context, panel.webview, this.engine, image, modelDir, {
      cache: this.cache,
      follows: true,
      onLock: (locked) => this.setLocked(locked),
      timeline: this.timeline,
    });
    if (this.isLocked) view.setLocked(true);
    const entry = { panel, view };
    this.entry = entry;
    void view.explain({}); // while the webview loads
    this.updateTitle();
    // Pause on the change from shown to hidden only: the event also fires for focus changes while hidden.
    let shown = panel.visible;
    panel.onDidChangeViewState(() => {
      if (shown && !panel.visible) view.pause();
      shown = panel.visible;
    });
    panel.onDidDispose(() => {
      view.dispose();
      if (this.entry === entry) this.entry = undefined;
      this.setLocked(false);
    });
    return view;
  }

  private updateTitle(): void {
    if (!this.entry) return;
    const { panel, view } = this.entry;
    panel.title = `${this.isLocked ? '[Locked] ' : ''}${basename(view.image.fsPath)} · ${this.modelLabel(view.model)}`;
  }

  private followActiveEditor(force = false): void {
    const image = this.activeImage();
    if (!force && image?.fsPath === this.lastActive) return;
    this.lastActive = image?.fsPath;
    if (!this.entry || this.isLocked || !image) return;
    const { panel, view } = this.entry;
    const active = vscode.window.tabGroups.activeTabGroup;
    if (active.tabs.some(isExplainTab) && !isExplainTab(active.activeTab)) {
      // The image opened on top of the panel, in its group: move the panel beside it, into the other group if
      // there is one, so it never adds a third.
      const other = vscode.window.tabGroups.all.find((g) => g !== active);
      panel.reveal(other?.viewColumn ?? vscode.ViewColumn.Beside, true);
    }
    if (image.fsPath === view.image.fsPath) return;
    void view.retarget(image);
    this.updateTitle();
  }

  dispose(): void {
    clearTimeout(this.followTimer);
    this.subscriptions.forEach((d) => d.dispose());
    this.entry?.panel.dispose();
  }
}
