/**
 * *XAI Lens: Install Native Backend* in a real host: contributed and registered, and with the npm registry unreachable
 * it fails with one line naming the package and leaves neither a `native` folder nor a staging folder in the
 * extension's global storage. The registry is npm's own setting (npm_config_registry) in this process's environment,
 * which the command passes to npm: no test hook in the product.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { extension } from './host';
import { findOnPath } from '../../src/extension/nativeInstall';
import type { NativeInstallResult } from '../../src/extension/nativeInstallCommand';

const COMMAND = 'xaiLens.installNativeBackend';

type CommandContribution = { command: string; title: string; category?: string };
type MenuEntry = { command: string; when?: string };

describe('XAI Lens: Install Native Backend', function () {
  this.timeout(120_000);

  it('is contributed for the command palette and registered', async function () {
    const ext = extension<{ nativeBackendDir: string }>();
    await ext.activate();
    const contributes = ext.packageJSON.contributes as { commands: CommandContribution[]; menus?: { commandPalette?: MenuEntry[] } };
    const entry = contributes.commands.find((c) => c.command === COMMAND);
    assert.ok(entry, `${COMMAND} is not contributed in package.json`);
    assert.equal(`${entry.category}: ${entry.title}`, 'XAI Lens: Install Native Backend');
    assert.ok(!contributes.menus?.commandPalette?.some((m) => m.command === COMMAND && m.when === 'false'), 'hidden from the palette');
    assert.ok((await vscode.commands.getCommands(true)).includes(COMMAND), `${COMMAND} is not registered`);
  });

  it('with the registry unreachable: one line naming the package, and no native or staging folder left', async function () {
    const ext = extension<{ nativeBackendDir: string }>();
    const api = await ext.activate();
    const storage = dirname(api.nativeBackendDir);
    // The test host starts from an empty profile; a backend installed earlier would have to stay as it was.
    const hadBackend = existsSync(api.nativeBackendDir);
    const saved = { registry: process.env.npm_config_registry, retries: process.env.npm_config_fetch_retries };
    // Port 9 (discard) refuses connections; no retries keeps the failure at about a second.
    process.env.npm_config_registry = 'http://127.0.0.1:9';
    process.env.npm_config_fetch_retries = '0';
    let result: NativeInstallResult | undefined;
    try {
      // The package as argument skips the quick pick.
      result = await vscode.commands.executeCommand<NativeInstallResult | undefined>(COMMAND, '@tensorflow/tfjs-node');
    } finally {
      for (const [key, value] of [['npm_config_registry', saved.registry], ['npm_config_fetch_retries', saved.retries]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    assert.ok(result && !result.ok, `the install did not fail: ${JSON.stringify(result)}`);
    assert.equal(result.cancelled, false);
    const message = result.message ?? '';
    assert.ok(!message.includes('\n'), `not one line: ${message}`);
    const expected = findOnPath('npm')
      ? /^XAI Lens: could not install @tensorflow\/tfjs-node: npm error code ECONNREFUSED: request to http:\/\/127\.0\.0\.1:9\/\S+ failed/
      : /^XAI Lens: could not install @tensorflow\/tfjs-node: npm is not on PATH/;
    assert.match(message, expected);
    assert.doesNotMatch(message, /\bat .*:\d+:\d+/, 'a stack line in the message');
    assert.equal(existsSync(api.nativeBackendDir), hadBackend, `${api.nativeBackendDir} ${hadBackend ? 'is gone' : 'exists'}`);
    const left = existsSync(storage) ? readdirSync(storage).filter((n) => n.startsWith('native') && n !== 'native') : [];
    assert.deepEqual(left, [], `staging folders left in ${storage}`);
  });
});
