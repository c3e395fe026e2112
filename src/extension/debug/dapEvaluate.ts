/**
 * DAP `evaluate` as the debugger helpers' transport: one expression in one paused frame, with a deadline, and a
 * rejection when the debug session ends mid-transfer. Does not import `vscode` (unit-tested in Node): it needs only a
 * session's `customRequest`.
 */
import { evaluateFailure, type Evaluate } from './helperProtocol';

/** A failure of the debugger or the session, reported to the user as its message (one line). */
export class DebugFailure extends Error {}

export interface DapSession {
  id: string;
  type: string;
  customRequest(command: string, args?: unknown): PromiseLike<unknown>;
}

/** The evaluations in flight per session, rejected together when the session ends. */
export class PendingEvaluations {
  private readonly bySession = new Map<string, ((e: Error) => void)[]>();

  add(sessionId: string, reject: (e: Error) => void): () => void {
    const list = this.bySession.get(sessionId) ?? [];
    this.bySession.set(sessionId, list);
    list.push(reject);
    return () => {
      const i = list.indexOf(reject);
      if (i >= 0) list.splice(i, 1);
    };
  }

  sessionEnded(sessionId: string): void {
    for (const f of this.bySession.get(sessionId)?.splice(0) ?? []) f(new DebugFailure('the debug session ended while XAI Lens was reading from it'));
    this.bySession.delete(sessionId);
  }
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

/**
 * An Evaluate for one frame. `context`: 'clipboard' where the adapter supports it (no length limit on the result),
 * else 'repl' (debugpy and js-debug shorten long repl strings, so the helpers send values in chunks).
 */
export function dapEvaluator(session: DapSession, frameId: number, context: 'clipboard' | 'repl', timeoutMs: number, pending: PendingEvaluations): Evaluate {
  return (expression) =>
    new Promise<string>((resolve, reject) => {
      const settle = (f: () => void) => {
        clearTimeout(timer);
        forget();
        f();
      };
      const forget = pending.add(session.id, (e) => settle(() => reject(e)));
      const timer = setTimeout(() => settle(() => reject(new DebugFailure(`the debugger did not answer within ${seconds(timeoutMs)}`))), timeoutMs);
      Promise.resolve(session.customRequest('evaluate', { expression, frameId, context })).then(
        (r) => settle(() => resolve(String((r as { result?: unknown } | undefined)?.result ?? ''))),
        (e: unknown) => settle(() => reject(new DebugFailure(evaluateFailure(session.type, e instanceof Error ? e.message : String(e))))),
      );
    });
}
