/**
 * Where the first explanation of a session spends its time, from the extension's activation to the first overlay
 * on screen: activation, the engine process (loading its code, the backend), the model (reading it, preparing ONNX
 * Runtime), the engine's first result, and the webview painting it. Written once to the output channel, and as JSON
 * to `XAI_LENS_TIMELINE_FILE` where that is set (bench:latency). No `vscode` import: unit-tested in plain Node.
 */
import type { EngineInfo, ExplainResultPayload } from '../shared/protocol';

export interface StartupReport {
  /** activate() itself. */
  activation_ms: number;
  /** From activation to the first explain command. */
  activation_to_command_ms?: number;
  /** From the command to the first overlay on screen: the figure a user waits for. */
  command_to_paint_ms: number;
  /** Forking the engine until its backend answered; the two parts below are inside it. */
  engine_ms?: number;
  engine_process_ms?: number;
  backend_ms?: number;
  /** Reading and building the model, and preparing ONNX Runtime (export or cache, probe check). */
  model_ms?: number;
  native_ms?: number;
  /** The first method's own time (Grad-CAM by default). */
  first_method?: string;
  first_method_ms?: number;
  /** From the command to the panel's webview having loaded (the explanation runs meanwhile). */
  command_to_webview_ms?: number;
  /** Inside the webview: from its document's start to our bundle evaluated, and to the app mounted. */
  webview_script_ms?: number;
  webview_mounted_ms?: number;
  /** From the command to the engine's backend answering (it is started by the command, or was already up). */
  command_to_engine_ms?: number;
  /** From the command to the first result message reaching the extension. */
  command_to_result_ms?: number;
  /** From that message to the overlay on screen (posting, decoding, drawing). */
  result_to_paint_ms?: number;
}

export class StartupTimeline {
  private readonly activatedAt: number;
  private activateEnd?: number;
  private commandAt?: number;
  private engine?: { ms: number; info: EngineInfo; at: number };
  private webviewAt?: number;
  private webviewTiming?: { scriptMs: number; mountedMs: number };
  private resultAt?: number;
  private result?: ExplainResultPayload;
  private reported = false;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.activatedAt = now();
  }

  activated(): void {
    this.activateEnd ??= this.now();
  }

  /** An explain command ran; only the first one is timed. */
  command(): void {
    this.commandAt ??= this.now();
  }

  /** The engine answered its initialize request, `ms` after it was forked. */
  engineStarted(info: EngineInfo, ms: number): void {
    this.engine ??= { ms, info, at: this.now() };
  }

  /** A panel's webview finished loading; the first one after the command counts. */
  webviewReady(timing?: { scriptMs: number; mountedMs: number }): void {
    if (this.commandAt === undefined || this.webviewAt !== undefined) return;
    this.webviewAt = this.now();
    this.webviewTiming = timing;
  }

  /** A result (partial or whole) reached the extension. */
  resultArrived(result: ExplainResultPayload): void {
    if (this.commandAt === undefined || this.resultAt !== undefined || !result.methods.length) return;
    this.resultAt = this.now();
    this.result = result;
  }

  /** The webview painted an overlay: the report, the first time after a command, else undefined. */
  painted(): StartupReport | undefined {
    if (this.reported || this.commandAt === undefined) return undefined;
    this.reported = true;
    const at = this.now();
    const r = this.result;
    const first = r?.methods[0];
    return {
      activation_ms: (this.activateEnd ?? this.activatedAt) - this.activatedAt,
      activation_to_command_ms: this.commandAt - this.activatedAt,
      command_to_paint_ms: at - this.commandAt,
      ...(this.engine ? { engine_ms: this.engine.ms, engine_process_ms: this.engine.info.startup?.processMs, backend_ms: this.engine.info.startup?.backendMs } : {}),
      ...(this.webviewAt !== undefined ? { command_to_webview_ms: this.webviewAt - this.commandAt } : {}),
      ...(this.webviewTiming ? { webview_script_ms: this.webviewTiming.scriptMs, webview_mounted_ms: this.webviewTiming.mountedMs } : {}),
      ...(this.engine ? { command_to_engine_ms: Math.max(0, this.engine.at - this.commandAt) } : {}),
      ...(r?.modelLoad ? { model_ms: r.modelLoad.modelMs, native_ms: r.modelLoad.nativeMs } : {}),
      ...(first ? { first_method: first.method, first_method_ms: first.ms } : {}),
      ...(this.resultAt !== undefined ? { command_to_result_ms: this.resultAt - this.commandAt, result_to_paint_ms: at - this.resultAt } : {}),
    };
  }
}

const s = (ms: number | undefined) => (ms === undefined ? '?' : `${(ms / 1000).toFixed(2)} s`);

/** The report as one line for the output channel. */
export function startupLine(r: StartupReport): string {
  const parts = [
    `first overlay ${s(r.command_to_paint_ms)} after the command`,
    `webview loaded at ${s(r.command_to_webview_ms)} (its bundle ran ${s(r.webview_script_ms)} and the app mounted ${s(r.webview_mounted_ms)} into its document)`,
    `engine ready at ${s(r.command_to_engine_ms)} (start ${s(r.engine_ms)}: code ${s(r.engine_process_ms)}, backend ${s(r.backend_ms)})`,
    `model ${s(r.model_ms)} + ONNX Runtime ${s(r.native_ms)}`,
    `${r.first_method ?? 'first method'} ${s(r.first_method_ms)}`,
    `first result at ${s(r.command_to_result_ms)}, painted ${s(r.result_to_paint_ms)} later`,
    `activation ${s(r.activation_ms)}`,
  ];
  return `start-up: ${parts.join(' · ')}`;
}
