/**
 * The engine process: TensorFlow.js work for the extension, in its own Node process so the editor stays responsive
 * and a crash loses nothing. JSON-RPC over the fork's IPC channel (vscode-jsonrpc); request names and payloads are
 * typed in src/shared/protocol.ts. Loaded models stay warm between requests. Errors reach the client as one
 * user-readable line with a code (user error, cancelled, internal).
 */
import * as tf from '@tensorflow/tfjs';
import { CancellationToken, IPCMessageReader, IPCMessageWriter, RequestType, ResponseError, createMessageConnection, NotificationType } from 'vscode-jsonrpc/node';
import type { EngineNotifications, EngineRequests } from '../../shared/protocol';
import { ENGINE_ERROR } from '../../shared/protocol';
import { XaiLensError, describeError } from '../errors';
import { EngineService } from './service';

function request<K extends keyof EngineRequests>(name: K): RequestType<EngineRequests[K]['params'], EngineRequests[K]['result'], void> {
  return new RequestType(name);
}

function notification<K extends keyof EngineNotifications>(name: K): NotificationType<EngineNotifications[K]> {
  return new NotificationType(name);
}

function toResponseError(e: unknown): ResponseError<void> {
  if (e instanceof XaiLensError) {
    return new ResponseError(e.message === 'cancelled' ? ENGINE_ERROR.cancelled : ENGINE_ERROR.userError, e.message);
  }
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return new ResponseError(ENGINE_ERROR.internal, describeError(e));
}

function abortSignal(token: CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}

export function startServer(): void {
  if (!process.send) {
    process.stderr.write('xai-lens engine: must be started as a forked child with an IPC channel\n');
    process.exit(2);
  }
  const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
  const service = new EngineService(
    (p) => connection.sendNotification(notification('engine/progress'), p),
    (p) => connection.sendNotification(notification('engine/partial'), p),
  );
  const guard = <P, R>(f: (p: P, token: CancellationToken) => Promise<R>) => async (p: P, token: CancellationToken): Promise<R | ResponseError<void>> => {
    try {
      return await f(p, token);
    } catch (e) {
      return toResponseError(e);
    }
  };
  connection.onRequest(request('engine/initialize'), guard((p) => service.initialize(p)));
  connection.onRequest(request('engine/describe'), guard(async () => service.describe()));
  connection.onRequest(request('engine/loadModel'), guard((p) => service.loadModel(p.dir)));
  connection.onRequest(request('engine/explain'), guard((p, token) => service.explain(p, abortSignal(token))));
  connection.onClose(() => {
    service.dispose();
    tf.disposeVariables();
    process.exit(0);
  });
  connection.listen();
}

if (require.main === module) startServer();
