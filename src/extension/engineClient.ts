/**
 * Client side of the engine process: starts it lazily (a forked Node process with an IPC channel), speaks typed
 * JSON-RPC to it (vscode-jsonrpc), routes progress notifications, forwards cancellation, and restarts it after a
 * crash. Does not import `vscode`, so it is tested in plain Node against the real bundled engine.
 */
import { fork, type ChildProcess } from 'node:child_process';
import {
  CancellationTokenSource, IPCMessageReader, IPCMessageWriter, NotificationType, RequestType, ResponseError, createMessageConnection,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { GalleryItem } from '../shared/gallery';
import { engineChildEnv } from './engineChild';
import { ENGINE_ERROR, type BackendChoice, type EngineInfo, type EngineNotifications, type EngineRequests, type ExplainResultPayload, type ProgressParams } from '../shared/protocol';

export class EngineError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
  get cancelled(): boolean {
    return this.code === ENGINE_ERROR.cancelled;
  }
}

export interface Cancellation {
  isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

export interface EngineClientOptions {
  /** Path of dist/engine-process.js. */
  script: string;
  backend: () => BackendChoice;
  /** `<globalStorage>/native/node_modules`, where the engine also looks for a native backend. */
  nativeModules?: string;
  /** Called when a started process has initialised its backend, `ms` after it was forked. */
  onStarted?: (info: EngineInfo, ms: number) => void;
  /** Called when the process exits while not being stopped (crash, kill). */
  onCrash?: (detail: string) => void;
  log?: (line: string) => void;
}

export class EngineClient {
  private child?: ChildProcess;
  private connection?: MessageConnection;
  private info?: Promise<EngineInfo>;
  private stopping = false;
  private readonly progressListeners = new Map<string, (p: ProgressParams) => void>();
  private readonly partialListeners = new Map<string, (r: ExplainResultPayload) => void>();
  private readonly mistakeListeners = new Map<string, (p: EngineNotifications['engine/mistake']) => void>();
  private readonly itemListeners = new Map<string, (item: GalleryItem) => void>();
  private nextToken = 1;

  constructor(private readonly opts: EngineClientOptions) {}

  get running(): boolean {
    return Boolean(this.child && this.child.exitCode === null && !this.child.killed);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process if needed and initialises its backend; resolves with the backend in use. */
  start(): Promise<EngineInfo> {
    if (this.info && this.running) return this.info;
    this.stopping = false;
    const forkedAt = performance.now();
    const child = fork(this.opts.script, [], {
      execArgv: [],
      env: engineChildEnv(this.opts.nativeModules),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => this.opts.log?.(d.toString().trimEnd()));
    child.stderr?.on('data', (d: Buffer) => this.opts.log?.(d.toString().trimEnd()));
    const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    connection.onNotification(new NotificationType<EngineNotifications['engine/progress']>('engine/progress'), (p) => this.progressListeners.get(p.token)?.(p));
    connection.onNotification(new NotificationType<EngineNotifications['engine/partial']>('engine/partial'), (p) => this.partialListeners.get(p.token)?.(p.result));
    connection.onNotification(new NotificationType<EngineNotifications['engine/mistake']>('engine/mistake'), (p) => this.mistakeListeners.get(p.token)?.(p));
    connection.onNotification(new NotificationType<EngineNotifications['engine/folderItem']>('engine/folderItem'), (p) => this.itemListeners.get(p.token)?.(p.item));
    connection.listen();
    this.connection = connection;
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.connection?.dispose();
      this.connection = undefined;
      this.child = undefined;
      this.info = undefined;
      if (!this.stopping) this.opts.onCrash?.(signal ? `killed by ${signal}` : `exit code ${code}`);
    });
    this.info = this.call('engine/initialize', { backend: this.opts.backend() });
    this.info.then((info) => this.opts.onStarted?.(info, performance.now() - forkedAt), () => undefined);
    return this.info;
  }

  private async call<K extends keyof EngineRequests>(name: K, params: EngineRequests[K]['params'], token?: Cancellation): Promise<EngineRequests[K]['result']> {
    const connection = this.connection;
    if (!connection) throw new EngineError('the XAI Lens engine is not running', ENGINE_ERROR.internal);
    // A request cancelled before it was sent (a panel re-targeted meanwhile) never reaches the engine.
    if (token?.isCancellationRequested) throw new EngineError('cancelled', ENGINE_ERROR.cancelled);
    const source = new CancellationTokenSource();
    // Created now, so cancel() may run more than once (a token's listener can fire late, after a direct cancel).
    const rpcToken = source.token;
    const sub = token?.onCancellationRequested(() => source.cancel());
    const child = this.child;
    let onExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | undefined;
    const exited = new Promise<never>((_, reject) => {
      onExit = (code, signal) =>
        reject(new EngineError(`the XAI Lens engine stopped while working (${signal ?? `exit code ${code}`}); it restarts on the next request`, ENGINE_ERROR.internal));
      child?.once('exit', onExit);
    });
    try {
      return await Promise.race([connection.sendRequest(new RequestType<EngineRequests[K]['params'], EngineRequests[K]['result'], void>(name), params, rpcToken), exited]);
    } catch (e) {
      if (e instanceof EngineError) throw e;
      if (e instanceof ResponseError) throw new EngineError(e.message, e.code);
      throw new EngineError(e instanceof Error ? e.message : String(e), ENGINE_ERROR.internal);
    } finally {
      if (onExit) child?.off('exit', onExit);
      sub?.dispose();
      source.dispose();
    }
  }

  /** Sends a request, starting (or restarting) the engine first; `onProgress` receives its progress notifications. */
  async request<K extends keyof EngineRequests>(
    name: K,
    params: EngineRequests[K]['params'],
    opts: {
      token?: Cancellation;
      onProgress?: (p: ProgressParams) => void;
      onPartial?: (r: ExplainResultPayload) => void;
      /** engine/mistakes: each mistake as it is finished. */
      onMistake?: (p: EngineNotifications['engine/mistake']) => void;
      /** engine/explainFolder: each image as it finishes. */
      onItem?: (item: GalleryItem) => void;
    } = {},
  ): Promise<EngineRequests[K]['result']> {
    await this.start();
    const progressToken = `p${this.nextToken++}`;
    if (opts.onProgress) this.progressListeners.set(progressToken, opts.onProgress);
    if (opts.onPartial) this.partialListeners.set(progressToken, opts.onPartial);
    if (opts.onMistake) this.mistakeListeners.set(progressToken, opts.onMistake);
    if (opts.onItem) this.itemListeners.set(progressToken, opts.onItem);
    try {
      return await this.call(name, { ...params, progressToken }, opts.token);
    } finally {
      this.progressListeners.delete(progressToken);
      this.partialListeners.delete(progressToken);
      this.mistakeListeners.delete(progressToken);
      this.itemListeners.delete(progressToken);
    }
  }

  /** Stops the process: closes the connection (the engine exits on close), then kills it if it lingers. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    this.connection?.end();
    this.connection?.dispose();
    child.disconnect?.();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
