/**
 * Entry of the explain panel webview (`explain` in src/shared/panels.ts: bundled to dist/webview/explain.js and .css).
 * Restores the state VS Code kept for this panel (getState) so the last result shows at once, mounts the app, then
 * tells the extension it is ready (it answers with `init` and, if it has one, the last `result`).
 */
import './app.css';
import { mount } from 'svelte';
import App from './App.svelte';
import { getState, post } from './dom/host';
import { restoreState } from './lib/state';

// Since the webview document started: the bundle loaded and evaluated (imports run first), then the app mounted.
const scriptMs = performance.now();
const target = document.getElementById('app') ?? document.body;
mount(App, { target, props: { initial: restoreState(getState()) } });
post({ type: 'ready', timing: { scriptMs, mountedMs: performance.now() } });
