/**
 * How long reading a 224×224×3 float32 array out of a paused Python program takes through DAP alone: Debian's
 * `python3 -m debugpy.adapter` driven over stdio by a minimal DAP client, the same HelperClient and evaluate
 * requests (clipboard context) the extension sends, without VS Code relaying the messages. Prints JSON: medians of
 * `--runs` reads (default 7), cold (helper install included) and warm.
 *
 *   node esbuild.mjs && node dist/bench-debug-transfer.js [--runs=7] [--python=/usr/bin/python3]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelperClient } from '../src/extension/debug/helperProtocol';
import { readImage } from '../src/extension/debug/reader';
import { median } from './benchStats';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const runs = Number(arg('runs') ?? 7);
const python = arg('python') ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

class Dap {
  private seq = 1;
  private buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, (m: { success: boolean; body?: unknown; message?: string }) => void>();
  private readonly events: ((m: { event: string; body?: unknown }) => void)[] = [];
  readonly child = spawn(python, ['-m', 'debugpy.adapter'], { stdio: ['pipe', 'pipe', 'inherit'] });

  constructor() {
    this.child.stdout.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      for (;;) {
        const header = this.buffer.indexOf('\r\n\r\n');
        if (header < 0) return;
        const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, header).toString())?.[1]);
        if (this.buffer.length < header + 4 + length) return;
        const m = JSON.parse(this.buffer.subarray(header + 4, header + 4 + length).toString('utf8'));
        this.buffer = this.buffer.subarray(header + 4 + length);
        if (m.type === 'response') this.pending.get(m.request_seq)?.(m);
        else if (m.type === 'event') this.events.forEach((f) => f(m));
      }
    });
  }

  request<T>(command: string, args: object = {}): Promise<T> {
    const seq = this.seq++;
    const body = Buffer.from(JSON.stringify({ seq, type: 'request', command, arguments: args }), 'utf8');
    this.child.stdin.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]));
    return new Promise((resolve, reject) =>
      this.pending.set(seq, (m) => (m.success ? resolve(m.body as T) : reject(new Error(`${command}: ${m.message}`)))),
    );
  }

  event(name: string): Promise<unknown> {
    return new Promise((resolve) => {
      const f = (m: { event: string; body?: unknown }) => {
        if (m.event === name) {
          this.events.splice(this.events.indexOf(f), 1);
          resolve(m.body);
        }
      };
      this.events.push(f);
    });
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xai-lens-bench-debug-'));
  const program = join(dir, 'paused.py');
  writeFileSync(program, ['import numpy as np', 'image = np.random.RandomState(0).rand(224, 224, 3).astype(np.float32)', 'pass  # line 3: breakpoint', ''].join('\n'));
  const dap = new Dap();
  try {
    await dap.request('initialize', { adapterID: 'debugpy', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
    const initialized = dap.event('initialized');
    const launched = dap.request('launch', { program, console: 'internalConsole', justMyCode: true });
    await initialized;
    await dap.request('setBreakpoints', { source: { path: program }, breakpoints: [{ line: 3 }] });
    const stopped = dap.event('stopped') as Promise<{ threadId: number }>;
    await dap.request('configurationDone');
    await launched;
    const { threadId } = await stopped;
    const { stackFrames } = await dap.request<{ stackFrames: { id: number }[] }>('stackTrace', { threadId, startFrame: 0, levels: 1 });
    const frameId = stackFrames[0].id;
    const evaluate = async (expression: string) => (await dap.request<{ result: string }>('evaluate', { expression, frameId, context: 'clipboard' })).result;
    const state = { installed: false };
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const img = await readImage(new HelperClient('python', evaluate, state), 'image');
      times.push(performance.now() - t0);
      if (img.pixels.raw.length !== 224 * 224 * 3) throw new Error('wrong size');
    }
    const warm = times.slice(1);
    console.log(
      JSON.stringify({
        benchmark: 'debug-transfer (debugpy over DAP stdio, no VS Code relay)',
        value: '224x224x3 float32',
        bytes: 224 * 224 * 3 * 4,
        coldMs: Math.round(times[0]),
        warmMedianMs: Math.round(median(warm)),
        runsMs: times.map(Math.round),
      }),
    );
    await dap.request('disconnect', { terminateDebuggee: true }).catch(() => undefined);
  } finally {
    dap.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench-debug-transfer: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
