/**
 * What every process the extension forks to run engine code (the engine process, `xai-lens` CLI runs for training
 * and the mistakes gallery) gets: VS Code's binary as plain Node, and where *XAI Lens: Install Native Backend* puts
 * the native TensorFlow backend. No `vscode` here.
 */
import { NATIVE_MODULES_ENV } from '../shared/nativeBackend';

/** The bundled CLI (dist/cli.js) and the native modules folder its processes look in. */
export interface EngineCli {
  script: string;
  nativeModules?: string;
}

export function engineChildEnv(nativeModules?: string): NodeJS.ProcessEnv {
  // ELECTRON_RUN_AS_NODE makes VS Code's Electron binary behave as plain Node for the child.
  return { ...process.env, ELECTRON_RUN_AS_NODE: '1', ...(nativeModules ? { [NATIVE_MODULES_ENV]: nativeModules } : {}) };
}
