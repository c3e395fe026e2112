/** Entry of the mistakes gallery webview (dist/webview/mistakes.js + mistakes.css). The extension replays on `ready`. */
import '../app.css';
import { mount } from 'svelte';
import Mistakes from './Mistakes.svelte';
import { channel } from '../dom/channel';
import type { FromMistakes } from '../../../src/shared/mistakesProtocol';

mount(Mistakes, { target: document.getElementById('app') ?? document.body, props: { host: channel<FromMistakes>() } });
