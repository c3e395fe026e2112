/**
 * Installing a native TensorFlow backend on demand, without `vscode`: npm installs the package into a staging folder
 * under the extension's global storage, a child Node process checks that it loads, and only then does the staging
 * folder replace `<storage>/native` (a rename, so a failed or cancelled attempt never leaves a partial folder where a
 * good one was). src/extension/nativeInstallCommand.ts adds the quick pick, progress and messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { version as tfjsVersion } from '@tensorflow/tfjs/package.json';
import type { NativePackageName } from '../shared/nativeBackend';

/**
 * The @tensorflow/tfjs version bundled into the engine (read at build time). A native package must match it: it loads
 * its own copy of tfjs-core, which shares the bundled one's engine and kernel registry.
 */
export const BUNDLED_TFJS_VERSION: string = tfjsVersion;

/** Folders of an attempt in progress (and of the folder it replaces) start with this; `native` itself is the result. */
export const STAGING_PREFIX = 'native-staging-';

/** Leftovers of a window closed mid-install are removed once they are this old (another window may be installing). */
const STALE_MS = 24 * 3600_000;
const VERIFY_TIMEOUT_MS = 120_000;
/** One line that fits a notification. */
const MAX_REASON = 300;

/** The load check's failure line starts with this, so that what the package itself prints is not taken for it. */
const VERIFY_FAILED = 'XAI_LENS_LOAD_FAILED';
// Exits explicitly (a loaded binding may keep threads alive), after the failure line is written (pipes may be async).
const VERIFY_SCRIPT = `
let failure;
try { require(process.env.XAI_LENS_LOAD_CHECK); } catch (e) { failure = String((e && e.message) || e).split('\\n')[0]; }
if (failure === undefined) process.exit(0);
else process.stderr.write('${VERIFY_FAILED} ' + failure + '\\n', () => process.exit(1));`;

export function nativeDir(storageDir: string): string {
  return join(storageDir, 'native');
}

/** What the engine processes get as XAI_LENS_NATIVE_MODULES. */
export function nativeModulesDir(storageDir: string): string {
  return join(nativeDir(storageDir), 'node_modules');
}

export function npmInstallArgs(staging: string, pkg: NativePackageName, version = BUNDLED_TFJS_VERSION): string[] {
  // --no-save: the staging folder needs no package.json; audit and fund notices are noise in the output channel.
  return ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', staging, `${pkg}@${version}`];
}

const NPM_PREFIX = /^npm (?:error|ERR!) ?/;
const ERROR_LINE = /^[A-Za-z]*Error: /;
/** npm's property lines after the code line, which say nothing by themselves. */
const PROPERTY_LINE = /^(code|syscall|errno|path|command|signal|A complete log)\b/;

function clip(line: string): string {
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 1)}…` : line;
}

/**
 * The first meaningful line of npm's failure output, e.g. "npm error code ECONNREFUSED: request to … failed, reason:
 * connect ECONNREFUSED 127.0.0.1:9", or "install script failed: getaddrinfo ENOTFOUND storage.googleapis.com" when the
 * package's own install script (the libtensorflow download) failed. Never a stack line.
 */
export function npmFailureReason(output: string): string | undefined {
  const lines = output
    .split(/\r?\n/)
    .filter((l) => NPM_PREFIX.test(l))
    .map((l) => l.replace(NPM_PREFIX, '').trim())
    .filter((l) => l && !l.startsWith('at '));
  const error = lines.find((l) => ERROR_LINE.test(l))?.replace(ERROR_LINE, '');
  if (lines.includes('command failed')) {
    const command = lines.find((l) => l.startsWith('command ') && l !== 'command failed');
    return clip(`install script failed: ${error ?? command?.slice('command '.length) ?? 'see the output'}`);
  }
  const codeAt = lines.findIndex((l) => /^code \S+$/.test(l));
  if (codeAt >= 0) {
    // A line such as "notarget No matching version found for …" carries a lowercase tag before the sentence.
    const detail = error ?? lines.slice(codeAt + 1).find((l) => !PROPERTY_LINE.test(l))?.replace(/^[a-z]+ (?=[A-Z])/, '');
    return clip(`npm error ${lines[codeAt]}${detail ? `: ${detail}` : ''}`);
  }
  const first = error ?? lines.find((l) => !PROPERTY_LINE.test(l));
  return first === undefined ? undefined : clip(first);
}

function pathKey(env: NodeJS.ProcessEnv): string {
  // Windows spells it Path, and a copied environment is no longer case-insensitive.
  return Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
}

/** The executable `command` that PATH names, or undefined. */
export function findOnPath(command: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  const windows = platform === 'win32';
  const extensions = windows ? (env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean) : [''];
  for (const dir of (env[pathKey(env)] ?? '').split(windows ? ';' : ':')) {
    if (!dir) continue;
    for (const ext of extensions) {
      const file = join(dir, command + ext);
      try {
        if (!statSync(file).isFile()) continue;
        if (!windows) accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

function firstLine(e: unknown): string {
  return clip((e instanceof Error ? e.message : String(e)).split('\n')[0]);
}

/** Stops a child and whatever it started (npm runs install scripts through a shell). */
function killTree(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (process.platform === 'win32') {
    spawn('taskkill', ['/pid', String(child.pid), '/T', '/F'], { stdio: 'ignore' }).on('error', () => child.kill());
    return;
  }
  try {
    // Started detached: its process group is its own, so this reaches the install script too.
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
  }, 3000).unref();
}

interface Finished {
  code: number | null;
  output: string;
  cancelled: boolean;
  timedOut: boolean;
}

/** Runs a child to its end, passing its output on line by line; an abort kills it (and its children). */
function runChild(command: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string; log: (line: string) => void; signal?: AbortSignal; timeoutMs?: number }): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const windowsScript = process.platform === 'win32' && /\.(cmd|bat)$/i.test(command);
    // Node runs .cmd files only through a shell; quote what the shell would split.
    const quote = (a: string) => (windowsScript ? `"${a.replace(/"/g, '""')}"` : a);
    const child = spawn(quote(command), args.map(quote), {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
      shell: windowsScript,
      windowsHide: true,
    });
    let output = '';
    let pending = '';
    const take = (chunk: string) => {
      output += chunk;
      const lines = (pending + chunk).split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const l of lines) opts.log(l);
    };
    child.stdout!.setEncoding('utf8').on('data', take);
    child.stderr!.setEncoding('utf8').on('data', take);
    let cancelled = false;
    const onAbort = () => {
      cancelled = true;
      killTree(child);
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = opts.timeoutMs ? setTimeout(() => ((timedOut = true), killTree(child)), opts.timeoutMs) : undefined;
    child.on('error', (e) => {
      opts.signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
      if (pending) opts.log(pending);
      resolve({ code, output, cancelled, timedOut });
    });
  });
}

/**
 * Loads `<modulesDir>/<pkg>` in a child Node process (this process's binary as Node, as the engine process runs) and
 * returns why it failed, or undefined when it loaded. A package whose install script did not fetch libtensorflow is
 * present but does not load.
 */
export async function verifyNativeModule(
  modulesDir: string,
  pkg: NativePackageName,
  opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<string | undefined> {
  const env = { ...(opts.env ?? process.env), ELECTRON_RUN_AS_NODE: '1', XAI_LENS_LOAD_CHECK: join(modulesDir, pkg) };
  // The path is absolute: any existing folder does as the working directory.
  const run = await runChild(process.execPath, ['-e', VERIFY_SCRIPT], { env, cwd: dirname(modulesDir), log: opts.log ?? (() => undefined), signal: opts.signal, timeoutMs: VERIFY_TIMEOUT_MS });
  if (run.cancelled) return 'cancelled';
  if (run.timedOut) return `loading ${pkg} did not finish within ${VERIFY_TIMEOUT_MS / 1000} s`;
  if (run.code === 0) return undefined;
  const line = run.output.split(/\r?\n/).find((l) => l.startsWith(VERIFY_FAILED));
  return clip(line ? line.slice(VERIFY_FAILED.length).trim() : `loading ${pkg} failed (exit code ${run.code})`);
}

/**
 * Puts `staging` where `target` is, if `verify(staging)` passes (returns undefined); returns why not otherwise. The
 * old `target` stays in place until the new one is verified, and comes back if the swap itself fails.
 */
export async function replaceVerified(staging: string, target: string, verify: (staging: string) => Promise<string | undefined>): Promise<string | undefined> {
  let reason: string | undefined;
  try {
    reason = await verify(staging);
  } catch (e) {
    reason = firstLine(e);
  }
  if (reason !== undefined) {
    await rm(staging, { recursive: true, force: true });
    return reason;
  }
  const previous = `${staging}-previous`;
  let moved = false;
  try {
    if (await exists(target)) {
      await rename(target, previous);
      moved = true;
    }
    await rename(staging, target);
  } catch (e) {
    // Windows refuses to rename a folder whose DLL a running engine holds.
    if (moved) await rename(previous, target).catch(() => undefined);
    await rm(staging, { recursive: true, force: true });
    return `cannot replace ${target}: ${firstLine(e)}`;
  }
  if (moved) await rm(previous, { recursive: true, force: true }).catch(() => undefined);
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function removeStaleStaging(storageDir: string): Promise<void> {
  for (const name of await readdir(storageDir)) {
    if (!name.startsWith(STAGING_PREFIX)) continue;
    const path = join(storageDir, name);
    const s = await stat(path).catch(() => undefined);
    if (s && Date.now() - s.mtimeMs > STALE_MS) await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
}

export type InstallStep = 'npm' | 'verify';

export interface InstallOptions {
  /** The extension's global storage folder. */
  storageDir: string;
  pkg: NativePackageName;
  /** Of npm and the load check; npm's own settings in it (npm_config_registry, proxies) apply. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Every line npm and the load check print. */
  log?: (line: string) => void;
  step?: (step: InstallStep) => void;
  signal?: AbortSignal;
}

export type InstallOutcome = { ok: true; dir: string } | { ok: false; cancelled: boolean; reason: string };

/** npm install into a staging folder, load check, swap into `<storage>/native`. Never throws. */
export async function installNativeBackend(opts: InstallOptions): Promise<InstallOutcome> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const failed = (reason: string): InstallOutcome => ({ ok: false, cancelled: Boolean(opts.signal?.aborted), reason: opts.signal?.aborted ? 'cancelled' : reason });
  const npm = findOnPath('npm', env);
  if (!npm) return failed('npm is not on PATH (install Node.js, which includes npm, and try again)');
  let staging: string | undefined;
  try {
    await mkdir(opts.storageDir, { recursive: true });
    await removeStaleStaging(opts.storageDir);
    staging = await mkdtemp(join(opts.storageDir, STAGING_PREFIX));
    const args = npmInstallArgs(staging, opts.pkg);
    opts.step?.('npm');
    log(`$ ${npm} ${args.join(' ')}`);
    // npm's own loglevel, whatever an enclosing `npm run -s` set: a silent npm gives no reason line to report.
    const run = await runChild(npm, args, { env: { ...env, npm_config_loglevel: 'notice' }, cwd: staging, log, signal: opts.signal });
    if (run.cancelled || opts.signal?.aborted) return failed('cancelled');
    if (run.code !== 0) return failed(npmFailureReason(run.output) ?? `npm exited with code ${run.code}`);
    opts.step?.('verify');
    const target = nativeDir(opts.storageDir);
    const reason = await replaceVerified(staging, target, async (dir) => {
      const why = await verifyNativeModule(join(dir, 'node_modules'), opts.pkg, { env, log, signal: opts.signal });
      if (why !== undefined) return `installed, but it does not load: ${why}`;
      // Cancelled after the check passed: still nothing replaced.
      return opts.signal?.aborted ? 'cancelled' : undefined;
    });
    if (reason !== undefined) return failed(reason);
    log(`${opts.pkg} installed in ${target}`);
    return { ok: true, dir: target };
  } catch (e) {
    return failed(firstLine(e));
  } finally {
    // Gone already after a swap; a failure or cancel leaves nothing behind.
    if (staging) await rm(staging, { recursive: true, force: true }).catch(() => undefined);
  }
}
