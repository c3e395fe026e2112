/**
 * The VS Code webview API for panels other than the explain panel (which has dom/host.ts), typed per panel by the
 * caller. acquireVsCodeApi may be called once per page: each panel is its own page, so each calls this once.
 */
interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): unknown;
}

declare function acquireVsCodeApi(): VsCodeApi;

export interface Channel<FromView> {
  post(message: FromView): void;
  getState(): unknown;
  setState(state: unknown): void;
}

export function channel<FromView>(): Channel<FromView> {
  const api: VsCodeApi =
    typeof acquireVsCodeApi === 'function'
      ? acquireVsCodeApi()
      : { postMessage: (m) => console.info('[xai-lens webview] postMessage', m), getState: () => undefined, setState: (s) => s };
  return { post: (m) => api.postMessage(m), getState: () => api.getState(), setState: (s) => void api.setState(s) };
}
