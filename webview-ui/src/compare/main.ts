/**
 * Entry of the compare webview (`compare` in src/shared/panels.ts: bundled to dist/webview/compare.js and .css).
 * Mounts the app, then tells the extension it is ready; the extension answers with both sides.
 */
import '../app.css';
import { mount } from 'svelte';
import Compare from './Compare.svelte';
import { poster } from '../dom/host';
import type { FromCompare } from '../../../src/shared/compare';

mount(Compare, { target: document.getElementById('app') ?? document.body });
poster<FromCompare>()({ type: 'ready' });
