/**
 * The vscode-free part of *XAI Lens: Install Native Backend* (src/extension/nativeInstall.ts): npm's arguments, the
 * reason line picked out of real npm failures (test/fixtures/npm-output/, captured on this machine, plus a live run
 * against an unreachable registry), the load check, the verify-and-swap of folders, and whole installs through a
 * stand-in npm (success, failure, a package that does not load, cancel).
 */
import * as assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { packageRoot } from '../../src/engine/paths';
import { engineChildEnv } from '../../src/extension/engineChild';
import {
  BUNDLED_TFJS_VERSION, STAGING_PREFIX, findOnPath, installNativeBackend, nativeDir, nativeModulesDir, npmFailureReason, npmInstallArgs, replaceVerified,
  verifyNativeModule,
} from '../../src/extension/nativeInstall';
import { NATIVE_MODULES_ENV } from '../../src/shared/nativeBackend';

const npmOutput = (name: string) => readFileSync(join(packageRoot(), 'test', 'fixtures', 'npm-output', `${name}.txt`), 'utf8');

/** A package folder whose index.js runs `body`. */
function fakePackage(modulesDir: string, name: string, body: string): void {
  mkdirSync(join(modulesDir, name), { recursive: true });
  writeFileSync(join(modulesDir, name, 'package.json'), JSON.stringify({ name, version: '0.0.0', main: 'index.js' }));
  writeFileSync(join(modulesDir, name, 'index.js'), body);
}

/** A folder with an executable `npm` that runs `script` (Node) with npm's arguments. */
function fakeNpm(dir: string, script: string): NodeJS.ProcessEnv {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'fake-npm.js'), script);
  writeFileSync(join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${join(bin, 'fake-npm.js')}" "$@"\n`);
  chmodSync(join(bin, 'npm'), 0o755);
  return { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
}

/** The stand-in npm's side of `--prefix <staging> <pkg>@<version>`. */
const NPM_ARGS = `
const args = process.argv.slice(2);
const prefix = args[args.indexOf('--prefix') + 1];
const spec = args.at(-1);
const pkg = spec.slice(0, spec.lastIndexOf('@'));
const fs = require('node:fs'), path = require('node:path');
fs.writeFileSync(path.join(__dirname, 'args.json'), JSON.stringify(args));
function install(body) {
  const dir = path.join(prefix, 'node_modules', pkg);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.js'), body);
}
`;

function storageEntries(storage: string): string[] {
  return existsSync(storage) ? readdirSync(storage).sort() : [];
}

describe('native backend install (vscode-free part)', function () {
  this.timeout(60_000);
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'xai-native-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('asks npm for the package at the version of the bundled @tensorflow/tfjs', () => {
    const pkgJson = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(BUNDLED_TFJS_VERSION, pkgJson.dependencies['@tensorflow/tfjs']);
    assert.deepEqual(npmInstallArgs('/s', '@tensorflow/tfjs-node-gpu'), [
      'install', '--no-save', '--no-audit', '--no-fund', '--prefix', '/s', `@tensorflow/tfjs-node-gpu@${BUNDLED_TFJS_VERSION}`,
    ]);
    assert.equal(nativeModulesDir('/g'), join('/g', 'native', 'node_modules'));
  });

  it('passes the native modules folder to the processes the extension forks', () => {
    assert.equal(engineChildEnv('/g/native/node_modules')[NATIVE_MODULES_ENV], '/g/native/node_modules');
    assert.equal(engineChildEnv('/x').ELECTRON_RUN_AS_NODE, '1');
  });

  describe('the reason line of an npm failure', () => {
    it('registry unreachable: the error code and what failed, no stack line', () => {
      assert.equal(
        npmFailureReason(npmOutput('registry-unreachable')),
        'npm error code ECONNREFUSED: request to http://127.0.0.1:9/left-pad failed, reason: connect ECONNREFUSED 127.0.0.1:9',
      );
    });

    it('the package install script failed (libtensorflow download): what the script said', () => {
      assert.equal(npmFailureReason(npmOutput('install-script-failed')), 'install script failed: getaddrinfo ENOTFOUND storage.googleapis.com');
    });

    it('unknown package or version: the code and npm sentence', () => {
      assert.equal(
        npmFailureReason(npmOutput('package-not-found')),
        'npm error code E404: 404 Not Found - GET https://registry.npmjs.org/@tensorflow%2ftfjs-node-nope-xyz',
      );
      assert.equal(npmFailureReason(npmOutput('version-not-found')), 'npm error code ETARGET: No matching version found for @tensorflow/tfjs-node@99.0.0.');
    });

    it('older npm (npm ERR!), nothing recognisable, and one line at most', () => {
      assert.equal(npmFailureReason('npm ERR! code ENOTFOUND\nnpm ERR! syscall getaddrinfo\nnpm ERR! network request failed\n'), 'npm error code ENOTFOUND: network request failed');
      assert.equal(npmFailureReason('something else entirely\n'), undefined);
      const long = npmFailureReason(`npm error code EX\nnpm error ${'x'.repeat(1000)}\n`) ?? '';
      assert.ok(long.length <= 300 && !long.includes('\n'), long);
    });

    it('a live npm against an unreachable registry gives the same kind of line', async function () {
      if (!findOnPath('npm')) this.skip();
      const env = { ...process.env, npm_config_registry: 'http://127.0.0.1:9', npm_config_fetch_retries: '0' };
      const lines: string[] = [];
      const outcome = await installNativeBackend({ storageDir: join(tmp, 'storage'), pkg: '@tensorflow/tfjs-node', env, log: (l) => lines.push(l) });
      assert.equal(outcome.ok, false);
      assert.ok(!outcome.ok && !outcome.cancelled);
      assert.match(outcome.reason, /^npm error code ECONNREFUSED: request to http:\/\/127\.0\.0\.1:9\/@tensorflow%2ftfjs-node failed/);
      assert.ok(lines.some((l) => /^npm error +at /.test(l)), 'the full output (stack included) went to the log');
      assert.deepEqual(storageEntries(join(tmp, 'storage')), [], 'no native or staging folder is left');
    });
  });

  it('finds npm on PATH only where an executable is', () => {
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'npm'), '#!/bin/sh\n');
    assert.equal(findOnPath('npm', { PATH: bin }), undefined, 'not executable');
    chmodSync(join(bin, 'npm'), 0o755);
    assert.equal(findOnPath('npm', { PATH: `/nonexistent${delimiter}${bin}` }), join(bin, 'npm'));
    assert.equal(findOnPath('npm', { PATH: '' }), undefined);
    writeFileSync(join(bin, 'npm.cmd'), '');
    assert.equal(findOnPath('npm', { Path: bin.replace(/:/g, ';'), PATHEXT: '.EXE;.cmd' }, 'win32'), join(bin, 'npm.cmd'), 'Windows: Path and PATHEXT');
  });

  describe('load check', () => {
    it('passes for a package that loads, and gives the first line of the error otherwise', async () => {
      const modules = join(tmp, 'node_modules');
      fakePackage(modules, '@tensorflow/tfjs-node', 'module.exports = 1;');
      fakePackage(modules, '@tensorflow/tfjs-node-gpu', "throw new Error('libcudart.so.11.0: cannot open shared object file\\nsecond line');");
      assert.equal(await verifyNativeModule(modules, '@tensorflow/tfjs-node'), undefined);
      assert.equal(await verifyNativeModule(modules, '@tensorflow/tfjs-node-gpu'), 'libcudart.so.11.0: cannot open shared object file');
      rmSync(join(modules, '@tensorflow', 'tfjs-node'), { recursive: true });
      assert.match((await verifyNativeModule(modules, '@tensorflow/tfjs-node')) ?? '', /^Cannot find module '.*tfjs-node'$/);
    });
  });

  describe('verify and swap', () => {
    const folder = (path: string, marker: string) => {
      mkdirSync(path, { recursive: true });
      writeFileSync(join(path, 'marker'), marker);
    };
    const marker = (path: string) => readFileSync(join(path, 'marker'), 'utf8');

    it('a failed verify leaves the old folder intact and removes the staging one', async () => {
      const target = join(tmp, 'native');
      const staging = join(tmp, `${STAGING_PREFIX}a`);
      folder(target, 'old');
      folder(staging, 'new');
      assert.equal(await replaceVerified(staging, target, async () => 'does not load'), 'does not load');
      assert.equal(marker(target), 'old');
      assert.deepEqual(storageEntries(tmp), ['native']);
      folder(staging, 'new');
      assert.equal(await replaceVerified(staging, target, async () => { throw new Error('check crashed\nstack'); }), 'check crashed');
      assert.equal(marker(target), 'old');
    });

    it('a passed verify replaces the old folder, or creates it, and leaves nothing else', async () => {
      const target = join(tmp, 'native');
      const staging = join(tmp, `${STAGING_PREFIX}b`);
      folder(staging, 'first');
      let checked = '';
      assert.equal(await replaceVerified(staging, target, async (s) => void (checked = marker(s))), undefined);
      assert.equal(checked, 'first', 'the staging folder is what gets verified');
      assert.equal(marker(target), 'first');
      folder(staging, 'second');
      assert.equal(await replaceVerified(staging, target, async () => undefined), undefined);
      assert.equal(marker(target), 'second');
      assert.deepEqual(storageEntries(tmp), ['native']);
    });
  });

  describe('whole install through a stand-in npm', () => {
    const storage = () => join(tmp, 'storage');

    it('installs, checks and puts the package under <storage>/native', async () => {
      const env = fakeNpm(tmp, `${NPM_ARGS}install("globalThis.loaded = true;"); console.log('added 1 package');`);
      const steps: string[] = [];
      const lines: string[] = [];
      const outcome = await installNativeBackend({ storageDir: storage(), pkg: '@tensorflow/tfjs-node', env, step: (s) => steps.push(s), log: (l) => lines.push(l) });
      assert.deepEqual(outcome, { ok: true, dir: nativeDir(storage()) });
      assert.deepEqual(steps, ['npm', 'verify']);
      assert.ok(lines.includes('added 1 package'), 'npm output is logged');
      assert.ok(existsSync(join(nativeModulesDir(storage()), '@tensorflow', 'tfjs-node', 'index.js')));
      assert.deepEqual(storageEntries(storage()), ['native']);
      const args = JSON.parse(readFileSync(join(tmp, 'bin', 'args.json'), 'utf8')) as string[];
      assert.equal(args.at(-1), `@tensorflow/tfjs-node@${BUNDLED_TFJS_VERSION}`);
      assert.equal(dirname(args[args.indexOf('--prefix') + 1]), storage(), 'staging lies in the storage folder (same file system, so the swap is a rename)');
    });

    it('an npm failure reports its reason line and keeps the installed backend', async () => {
      mkdirSync(join(storage(), 'native'), { recursive: true });
      writeFileSync(join(storage(), 'native', 'marker'), 'good');
      const failing = JSON.stringify(npmOutput('registry-unreachable'));
      const env = fakeNpm(tmp, `${NPM_ARGS}process.stderr.write(${failing}); process.exitCode = 1;`);
      const outcome = await installNativeBackend({ storageDir: storage(), pkg: '@tensorflow/tfjs-node', env });
      assert.deepEqual(outcome, { ok: false, cancelled: false, reason: npmFailureReason(npmOutput('registry-unreachable')) });
      assert.equal(readFileSync(join(storage(), 'native', 'marker'), 'utf8'), 'good');
      assert.deepEqual(storageEntries(storage()), ['native']);
    });

    it('a package that installed but does not load is a failure too', async () => {
      const env = fakeNpm(tmp, `${NPM_ARGS}install("throw new Error('The specified module could not be found: libtensorflow.so.2');");`);
      const outcome = await installNativeBackend({ storageDir: storage(), pkg: '@tensorflow/tfjs-node-gpu', env });
      assert.deepEqual(outcome, { ok: false, cancelled: false, reason: 'installed, but it does not load: The specified module could not be found: libtensorflow.so.2' });
      assert.deepEqual(storageEntries(storage()), []);
    });

    it('cancelling kills npm and what it started, and removes the staging folder', async function () {
      if (process.platform === 'win32') this.skip();
      // npm that starts a child (as an install script would) and waits.
      const env = fakeNpm(tmp, `${NPM_ARGS}install(''); const c = require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
        fs.writeFileSync(path.join(__dirname, 'child.pid'), String(c.pid)); setTimeout(() => {}, 60000);`);
      const abort = new AbortController();
      const started = Date.now();
      const pending = installNativeBackend({ storageDir: storage(), pkg: '@tensorflow/tfjs-node', env, signal: abort.signal });
      const pidFile = join(tmp, 'bin', 'child.pid');
      while (!existsSync(pidFile) && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
      abort.abort();
      const outcome = await pending;
      assert.deepEqual(outcome, { ok: false, cancelled: true, reason: 'cancelled' });
      assert.ok(Date.now() - started < 20_000, 'npm did not run to its end');
      assert.deepEqual(storageEntries(storage()), []);
      const grandchild = Number(readFileSync(pidFile, 'utf8'));
      await new Promise((r) => setTimeout(r, 200));
      // Gone, or a zombie waiting for an init process that does not reap (as in some containers).
      const state = existsSync(`/proc/${grandchild}/stat`) ? readFileSync(`/proc/${grandchild}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
      assert.ok(state === 'gone' || state === 'Z', `the install script's child is still running (state ${state})`);
    });

    it('says so in one line when npm is not on PATH', async () => {
      const outcome = await installNativeBackend({ storageDir: storage(), pkg: '@tensorflow/tfjs-node', env: { PATH: join(tmp, 'empty') } });
      assert.deepEqual(outcome, { ok: false, cancelled: false, reason: 'npm is not on PATH (install Node.js, which includes npm, and try again)' });
    });
  });
});
