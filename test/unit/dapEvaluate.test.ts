/**
 * The debugger transport (src/extension/debug/dapEvaluate.ts) against sessions that answer, never answer, cannot
 * evaluate, or end mid-transfer: each failure is one line, and nothing is left pending.
 */
import * as assert from 'node:assert/strict';
import { DebugFailure, PendingEvaluations, dapEvaluator, type DapSession } from '../../src/extension/debug/dapEvaluate';

type Args = { expression: string; frameId: number; context: string };

function session(id: string, answer: (args: Args) => PromiseLike<unknown>): DapSession & { calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    id, type: 'debugpy', calls,
    customRequest(command, args) {
      calls.push([command, args]);
      return answer(args as Args);
    },
  };
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DebugFailure, `a DebugFailure, got ${String(e)}`);
    return e.message;
  }
  throw new Error('expected a failure');
}

describe('debugger transport (DAP evaluate)', () => {
  it('evaluates in the given frame and context and returns the result string', async () => {
    const s = session('a', async (a) => ({ result: `'${a.expression.length}'` }));
    assert.equal(await dapEvaluator(s, 7, 'clipboard', 1000, new PendingEvaluations())('1 + 1'), "'5'");
    assert.deepEqual(s.calls, [['evaluate', { expression: '1 + 1', frameId: 7, context: 'clipboard' }]]);
  });

  it('a debugger that does not answer: one line after the timeout', async () => {
    const s = session('a', () => new Promise(() => undefined));
    const t0 = Date.now();
    assert.equal(await failure(dapEvaluator(s, 1, 'repl', 60, new PendingEvaluations())('x')), 'the debugger did not answer within 60 ms');
    assert.ok(Date.now() - t0 >= 55);
  });

  it('a debugger without evaluate: one line naming the debugger and its answer', async () => {
    const s = session('a', () => Promise.reject(new Error('Unrecognized request: evaluate\n    at Dispatcher.handle (adapter.js:1:1)')));
    assert.equal(await failure(dapEvaluator(s, 1, 'repl', 1000, new PendingEvaluations())('x')), 'the debugpy debugger cannot evaluate expressions (Unrecognized request: evaluate)');
    // Any other refusal is passed on as its first line.
    const t = session('a', () => Promise.reject(new Error("NameError: name 'img' is not defined\nTraceback …")));
    assert.equal(await failure(dapEvaluator(t, 1, 'repl', 1000, new PendingEvaluations())('img')), "NameError: name 'img' is not defined");
  });

  it('the session ends mid-transfer: its evaluations in flight fail with one line; other sessions go on', async () => {
    const pending = new PendingEvaluations();
    const answers: ((v: unknown) => void)[] = [];
    const ending = session('a', () => new Promise(() => undefined));
    const other = session('b', () => new Promise((r) => answers.push(r)));
    const chunk1 = dapEvaluator(ending, 1, 'clipboard', 10_000, pending)('chunk(0)');
    const chunk2 = dapEvaluator(ending, 1, 'clipboard', 10_000, pending)('chunk(1)');
    const elsewhere = dapEvaluator(other, 3, 'clipboard', 10_000, pending)('z');
    pending.sessionEnded('a');
    const ended = 'the debug session ended while XAI Lens was reading from it';
    assert.deepEqual([await failure(chunk1), await failure(chunk2)], [ended, ended]);
    answers[0]({ result: 'ok' });
    assert.equal(await elsewhere, 'ok');
    // Settled evaluations are forgotten: a later end rejects nothing, and an answer after a timeout changes nothing.
    pending.sessionEnded('b');
    let late: (v: unknown) => void = () => undefined;
    const slow = session('c', () => new Promise((r) => (late = r)));
    const timedOut = dapEvaluator(slow, 1, 'repl', 20, pending)('x');
    assert.equal(await failure(timedOut), 'the debugger did not answer within 20 ms');
    late({ result: 'too late' });
    pending.sessionEnded('c');
  });
});
