import { mount } from 'svelte';
import App from './App.svelte';

declare function acquireVsCodeApi(): { postMessage(message: unknown): void };

const vscode = acquireVsCodeApi();
mount(App, { target: document.body });
vscode.postMessage({ type: 'ready' });
