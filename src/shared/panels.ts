/**
 * Every webview panel, declared once. esbuild.mjs bundles each `entry` to dist/webview/<id>.js (+ <id>.css), and
 * src/extension/webviewPanel.ts derives a panel's HTML (strict CSP with a nonce), options and typed message channel
 * from its descriptor. Adding a panel: one entry here, one webview entry module, one extension module that opens it.
 */
export interface PanelDescriptor {
  /** Bundle name: dist/webview/<id>.js and dist/webview/<id>.css. */
  id: string;
  /** The VS Code webview view type (also used in `when` clauses as `activeWebviewPanelId`). */
  viewType: string;
  /** Tab title before the panel names what it shows. */
  title: string;
  /** The webview's entry module, relative to the repository root. */
  entry: string;
}

export const PANELS = {
  explain: { id: 'explain', viewType: 'xaiLens.explain', title: 'XAI Lens', entry: 'webview-ui/src/main.ts' },
  compare: { id: 'compare', viewType: 'xaiLens.compare', title: 'XAI Lens Compare', entry: 'webview-ui/src/compare/main.ts' },
  gallery: { id: 'gallery', viewType: 'xaiLens.gallery', title: 'XAI Lens Gallery', entry: 'webview-ui/src/gallery/main.ts' },
  dashboard: { id: 'dashboard', viewType: 'xaiLens.trainingDashboard', title: 'Training', entry: 'webview-ui/src/dashboard/main.ts' },
  mistakes: { id: 'mistakes', viewType: 'xaiLens.mistakes', title: 'Mistakes', entry: 'webview-ui/src/mistakes/main.ts' },
} as const satisfies Record<string, PanelDescriptor>;

export type PanelId = keyof typeof PANELS;

export const PANEL_LIST: readonly PanelDescriptor[] = Object.values(PANELS);
