/**
 * Entry of the folder gallery webview (`gallery` in src/shared/panels.ts: bundled to dist/webview/gallery.js and
 * .css). Mounts the app, then tells the extension it is ready; the extension answers with everything so far.
 */
import '../app.css';
import { mount } from 'svelte';
import Gallery from './Gallery.svelte';
import { poster } from '../dom/host';
import type { FromGallery } from '../../../src/shared/gallery';

mount(Gallery, { target: document.getElementById('app') ?? document.body });
poster<FromGallery>()({ type: 'ready' });
