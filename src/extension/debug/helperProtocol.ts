/**
 * Reading values out of a paused program with nothing but DAP `evaluate`: the helper-expression text for Python
 * (debugpy) and JavaScript (js-debug), decoding of the helper's base64-JSON answers, and the chunked transfer of
 * bytes. Pure (no `vscode`): the caller supplies `evaluate(expression)`, which in the extension is a DAP request in
 * the paused frame and in unit tests a real Python or Node evaluation.
 */
import { jsHelperSource } from './jsHelper';
import pythonHelperSource from './xai_lens_helper.py';

export type DebugLanguage = 'python' | 'javascript';

/** Evaluates one expression in the paused frame and returns the debugger's `result` string. */
export type Evaluate = (expression: string) => Promise<string>;

export class HelperError extends Error {
  override readonly name = 'HelperError';
}

const PY_MODULE = '_xai_lens_helper';
const JS_GLOBAL = '__xaiLensHelper';

/** Debug types whose programs are Python; everything else js-debug runs is JavaScript. */
export function languageOfDebugType(type: string): DebugLanguage | undefined {
  if (/python|debugpy/i.test(type)) return 'python';
  if (/^(pwa-)?(node|chrome|msedge|extensionHost)$|node-terminal|js-debug/i.test(type)) return 'javascript';
  return undefined;
}

/** Expression that installs the helper once (idempotent) and evaluates to something short. */
export function installExpression(lang: DebugLanguage): string {
  if (lang === 'python') {
    const b64 = Buffer.from(pythonHelperSource, 'utf8').toString('base64');
    // An expression, not a statement, so every evaluate context accepts it; exec runs in a fresh module's namespace.
    return (
      `(__import__('sys').modules.get('${PY_MODULE}') or (lambda m: (exec(__import__('base64').b64decode('${b64}').decode('utf-8'), m.__dict__), ` +
      `__import__('sys').modules.__setitem__('${PY_MODULE}', m), m)[2])(__import__('types').ModuleType('${PY_MODULE}'))) and 'ok'`
    );
  }
  return `(globalThis.${JS_GLOBAL} = globalThis.${JS_GLOBAL} || (${jsHelperSource()})(), 'ok')`;
}

/** Expression calling helper function `fn` with the given argument expressions. */
export function callExpression(lang: DebugLanguage, fn: string, args: string[]): string {
  const target = lang === 'python' ? `__import__('sys').modules['${PY_MODULE}']` : `globalThis.${JS_GLOBAL}`;
  return `${target}.${fn}(${args.join(', ')})`;
}

/** A user expression as an argument: parenthesised so `a if b else c` or `a, b` stay one value. */
export function valueArg(expression: string): string {
  return `(${expression})`;
}

export function literal(lang: DebugLanguage, v: string | number | null | undefined | string[]): string {
  if (v === null || v === undefined) return lang === 'python' ? 'None' : 'null';
  if (Array.isArray(v)) return `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
  return typeof v === 'number' ? String(v) : JSON.stringify(v);
}

/**
 * The base64 text inside a debugger's `result`: debugpy's clipboard context answers a repr (`'…'`), js-debug a bare
 * string, some adapters add double quotes. Base64 needs no escaping, so trimming the quotes is enough.
 */
export function unquote(result: string): string {
  let s = result.trim();
  if (s.length >= 2 && (s[0] === "'" || s[0] === '"' || s[0] === '`') && s[s.length - 1] === s[0]) s = s.slice(1, -1);
  return s;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes a helper answer; an `{ error }` answer, or anything that is not the helper's, becomes a HelperError. */
export function decodeAnswer<T>(result: string): T {
  const s = unquote(result);
  if (!BASE64.test(s) || s.length === 0) throw new HelperError(firstLine(result));
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(s, 'base64').toString('utf8'));
  } catch {
    throw new HelperError(`unexpected answer from the debuggee: ${firstLine(result).slice(0, 120)}`);
  }
  if (obj && typeof obj === 'object' && typeof (obj as { error?: unknown }).error === 'string') throw new HelperError((obj as { error: string }).error);
  return obj as T;
}

/** One line for a failed DAP evaluate; adapters without `evaluate` answer "not supported" in various words. */
export function evaluateFailure(debugType: string, message: string): string {
  const line = firstLine(message);
  return /not supported|unrecognized request|unknown request|evaluate.*(unsupported|not available)/i.test(line) ? `the ${debugType} debugger cannot evaluate expressions (${line})` : line;
}

export function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim())?.trim() ?? s;
}

/** Decodes one chunk (bare base64) into bytes, checking it is base64 (a debugger error message would not be). */
export function decodeChunk(result: string): Buffer {
  const s = unquote(result);
  if (!BASE64.test(s)) {
    // The helper answers errors as base64 JSON too; anything else is the debugger's own message.
    throw new HelperError(firstLine(result));
  }
  return Buffer.from(s, 'base64');
}

export type Described =
  | { kind: 'array'; shape: number[]; dtype: string }
  | { kind: 'encoded'; format: 'png' | 'jpeg'; byteLength: number; path?: string }
  | { kind: 'model'; framework: 'torch' | 'keras' | 'tfjs'; className: string };

export interface Held {
  byteLength: number;
  chunks: number;
  /** The first chunk, inline: a value under 4 MiB costs one evaluate. */
  first?: string;
}

/** Concatenates chunk answers, checking the total against what the helper announced. */
export function assembleChunks(parts: Uint8Array[], expected: number): Uint8Array {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  if (total !== expected) throw new HelperError(`the transfer delivered ${total} bytes instead of ${expected}`);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/**
 * Talks to the helper in one paused program. It installs the helper on first use (again if the program lost it),
 * and always releases the held bytes after a transfer, even when the transfer fails.
 */
export class HelperClient {
  constructor(
    readonly lang: DebugLanguage,
    private readonly evaluate: Evaluate,
    /** Shared by the clients of one debug session, so the helper is sent once per session, not per read. */
    private readonly session: { installed: boolean } = { installed: false },
  ) {}

  private get installed(): boolean {
    return this.session.installed;
  }

  private set installed(v: boolean) {
    this.session.installed = v;
  }

  private async ensureInstalled(): Promise<void> {
    if (this.installed) return;
    const r = unquote(await this.evaluate(installExpression(this.lang)));
    if (r !== 'ok' && r !== 'True') throw new HelperError(`could not install the XAI Lens helper in the debuggee: ${firstLine(r)}`);
    this.installed = true;
  }

  /** Calls a helper function that answers base64 JSON; reinstalls once when the debuggee lost the helper. */
  async call<T>(fn: string, args: string[]): Promise<T> {
    await this.ensureInstalled();
    let result = await this.evaluate(callExpression(this.lang, fn, args));
    if (/_xai_lens_helper|__xaiLensHelper/.test(result) && !BASE64.test(unquote(result))) {
      this.installed = false;
      await this.ensureInstalled();
      result = await this.evaluate(callExpression(this.lang, fn, args));
    }
    return decodeAnswer<T>(result);
  }

  describe(expression: string): Promise<Described> {
    return this.call<Described>('describe', [valueArg(expression)]);
  }

  /**
   * Runs a helper function that holds bytes (prepare, prepareModel, explain) and answers with the first chunk inline,
   * then reads the other chunks; the helper drops the bytes after the last one (and on release() after a failure).
   */
  async transfer<T extends Held>(fn: string, args: string[], onChunk?: (done: number, total: number) => void): Promise<{ meta: T; bytes: Uint8Array }> {
    const meta = await this.call<T>(fn, args);
    const parts: Uint8Array[] = [decodeChunk(meta.first ?? '')];
    delete meta.first;
    onChunk?.(1, meta.chunks);
    try {
      for (let i = 1; i < meta.chunks; i++) {
        parts.push(decodeChunk(await this.evaluate(callExpression(this.lang, 'chunk', [String(i)]))));
        onChunk?.(i + 1, meta.chunks);
      }
    } catch (e) {
      await this.evaluate(callExpression(this.lang, 'release', [])).catch(() => undefined);
      throw e;
    }
    return { meta, bytes: assembleChunks(parts, meta.byteLength) };
  }
}
