/**
 * The one handle on the VS Code webview API (acquireVsCodeApi may be called only once per page), typed with the
 * panel protocol. Outside VS Code (a plain browser, a test page without a stub) it degrades to a console logger and
 * sessionStorage, so the UI still renders.
 */
import type { FromWebview } from '../../../src/shared/protocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): unknown;
}

declare global {
  function acquireVsCodeApi(): VsCodeApi;
}

function fallback(): VsCodeApi {
  const key = 'xai-lens-panel-state';
  return {
    postMessage: (m) => console.info('[xai-lens webview] postMessage', m),
    getState: () => {
      const s = sessionStorage.getItem(key);
      return s ? JSON.parse(s) : undefined;
    },
    setState: (s) => {
      sessionStorage.setItem(key, JSON.stringify(s));
      return s;
    },
  };
}

const api: VsCodeApi = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : fallback();

export function post(message: FromWebview): void {
  api.postMessage(message);
}

/** The typed `post` of another panel (each webview page is one panel, with its own message type). */
export function poster<T>(): (message: T) => void {
  return (message) => api.postMessage(message);
}

export function getState(): unknown {
  return api.getState();
}

export function setState(state: unknown): void {
  api.setState(state);
}
