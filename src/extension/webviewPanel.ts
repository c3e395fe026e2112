/**
 * What every XAI Lens webview shares, derived from its descriptor in src/shared/panels.ts: options (scripts on, local
 * resources limited to the built webview), the HTML page (strict Content-Security-Policy with a per-load nonce, the
 * panel's bundle and stylesheet) and a typed message channel.
 */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import type { PanelDescriptor } from '../shared/panels';

export function webviewRoot(context: vscode.ExtensionContext): vscode.Uri {
  return vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');
}

export function panelWebviewOptions(context: vscode.ExtensionContext): vscode.WebviewOptions {
  // Only the built webview: images and results travel as messages, never as file URLs.
  return { enableScripts: true, localResourceRoots: [webviewRoot(context)] };
}

export function panelHtml(context: vscode.ExtensionContext, webview: vscode.Webview, panel: PanelDescriptor, title = panel.title): string {
  const nonce = randomBytes(16).toString('base64');
  const root = webviewRoot(context);
  const script = webview.asWebviewUri(vscode.Uri.joinPath(root, `${panel.id}.js`));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(root, `${panel.id}.css`));
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
<body data-panel="${escape(panel.id)}">
<script type="module" nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}

/** A webview set up as `panel`: options and HTML set, messages typed in both directions. */
export class PanelChannel<ToView, FromView> implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;
  /**
   * Nothing is posted before the page's first `ready`: every panel answers it with its state so far, and messages
   * posted while the page loads could arrive too, so the same item twice (a duplicate card key stopped the gallery).
   */
  private ready = false;

  constructor(
    context: vscode.ExtensionContext,
    readonly webview: vscode.Webview,
    panel: PanelDescriptor,
    onMessage: (m: FromView) => void,
    title?: string,
  ) {
    webview.options = panelWebviewOptions(context);
    webview.html = panelHtml(context, webview, panel, title);
    this.subscription = webview.onDidReceiveMessage((m: FromView) => {
      if ((m as { type?: unknown }).type === 'ready') this.ready = true;
      onMessage(m);
    });
  }

  post(message: ToView): void {
    if (this.ready) void this.webview.postMessage(message);
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
