/**
 * One explanation view: a webview (a panel, or the custom editor's) showing one image explained by one model. It
 * owns the webview's HTML (strict CSP with a nonce, local resources only), answers the webview's typed messages,
 * runs explanations on the engine with progress and cancel, and saves rendered PNGs into the workspace.
 */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { basename, dirname, extname } from 'node:path';
import type { CounterfactualMethod, ExplainResultPayload, FromWebview, ToWebview } from '../shared/protocol';
import { type EngineClient, EngineError } from './engineClient';
import { counterfactualChoices, methodOptions, methodsSetting, panelSettings } from './config';

export function webviewOptions(context: vscode.ExtensionContext, image: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    // Only the built webview and the folder of the image being explained.
    localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview'), vscode.Uri.file(dirname(image.fsPath))],
  };
}

export function webviewHtml(context: vscode.ExtensionContext, webview: vscode.Webview, title: string): string {
  const nonce = randomBytes(16).toString('base64');
  const root = vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.css'));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data: blob:`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}" nonce="${nonce}">
<title>${escape(title)}</title>
</head>
<body>
<script type="module" nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}

export class ExplainView implements vscode.Disposable {
  private lastResult?: ExplainResultPayload;
  private running?: vscode.CancellationTokenSource;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly webview: vscode.Webview,
    private readonly engine: EngineClient,
    readonly image: vscode.Uri,
    private modelDir: string,
  ) {
    webview.options = webviewOptions(context, image);
    webview.html = webviewHtml(context, webview, `Explain ${basename(image.fsPath)}`);
    this.disposables.push(webview.onDidReceiveMessage((m: FromWebview) => void this.onMessage(m)));
  }

  private post(message: ToWebview): void {
    void this.webview.postMessage(message);
  }

  setModel(dir: string): void {
    this.modelDir = dir;
  }

  private async onMessage(m: FromWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.post({
          type: 'init', imageName: basename(this.image.fsPath), settings: panelSettings(), model: this.lastResult?.model,
          counterfactuals: counterfactualChoices(this.context.extension),
        });
        if (this.lastResult) this.post({ type: 'result', result: this.lastResult });
        else await this.explain({});
        break;
      case 'explain':
        await this.explain({ target: m.target, layer: m.layer, counterfactual: m.counterfactual });
        break;
      case 'cancel':
        this.running?.cancel();
        break;
      case 'savePng':
        await this.savePng(m.name, m.dataUrl);
        break;
    }
  }

  /** Runs an explanation; a newer request cancels an older one still running. */
  async explain(opts: { target?: number; layer?: string; counterfactual?: CounterfactualMethod }): Promise<ExplainResultPayload | undefined> {
    this.running?.cancel();
    const source = new vscode.CancellationTokenSource();
    this.running = source;
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `XAI Lens: explaining ${basename(this.image.fsPath)}` },
        () =>
          this.engine.request(
            'engine/explain',
            {
              modelDir: this.modelDir,
              imagePath: this.image.fsPath,
              methods: methodsSetting(),
              target: opts.target,
              layer: opts.layer,
              counterfactual: opts.counterfactual ?? panelSettings().counterfactual,
              methodOptions: methodOptions(this.context.extension),
            },
            {
              token: source.token,
              onProgress: (p) => this.post({ type: 'progress', done: p.done, total: p.total, message: p.message }),
              onPartial: (partial) => this.post({ type: 'partial', result: partial }),
            },
          ),
      );
      this.lastResult = result;
      this.post({ type: 'result', result });
      return result;
    } catch (e) {
      if (e instanceof EngineError && e.cancelled) {
        this.post({ type: 'cancelled' });
        return undefined;
      }
      const message = e instanceof Error ? e.message : String(e);
      this.post({ type: 'error', message });
      void vscode.window.showErrorMessage(`XAI Lens: ${message}`);
      return undefined;
    } finally {
      if (this.running === source) this.running = undefined;
      source.dispose();
    }
  }

  /**
   * Writes a PNG the webview rendered into `<workspace folder>/xai-lens/` (the image's folder outside a workspace),
   * through a temporary name and a rename, so a half-written file never appears.
   */
  private async savePng(name: string, dataUrl: string): Promise<void> {
    const match = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(dataUrl);
    if (!match) {
      this.post({ type: 'error', message: 'the view could not be rendered as a PNG' });
      return;
    }
    const stem = basename(this.image.fsPath, extname(this.image.fsPath));
    const safe = basename(name).replace(/[^\w.-]+/g, '_').replace(/^\.+/, '') || `${stem}.png`;
    const folder = vscode.workspace.getWorkspaceFolder(this.image)?.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    const dir = folder ? vscode.Uri.joinPath(folder, 'xai-lens') : vscode.Uri.file(dirname(this.image.fsPath));
    const target = vscode.Uri.joinPath(dir, safe.endsWith('.png') ? safe : `${safe}.png`);
    const tmp = vscode.Uri.joinPath(dir, `.${basename(target.path)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await vscode.workspace.fs.createDirectory(dir);
      await vscode.workspace.fs.writeFile(tmp, Buffer.from(match[1], 'base64'));
      await vscode.workspace.fs.rename(tmp, target, { overwrite: true });
      this.post({ type: 'saved', path: vscode.workspace.asRelativePath(target) });
    } catch (e) {
      this.post({ type: 'error', message: `cannot save ${target.fsPath}: ${(e as Error).message}` });
    }
  }

  get result(): ExplainResultPayload | undefined {
    return this.lastResult;
  }

  dispose(): void {
    this.running?.cancel();
    this.disposables.forEach((d) => d.dispose());
  }
}
