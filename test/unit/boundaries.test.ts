/** The architectural import rules are enforced by ESLint; prove that the configured rules fire. */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { packageRoot } from '../../src/engine/paths';

describe('import boundaries (eslint)', function () {
  this.timeout(60_000);
  const eslint = new ESLint({ cwd: packageRoot() });

  async function messages(code: string, file: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: join(packageRoot(), file) });
    return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
  }

  it('src/engine may not import vscode or the extension', async () => {
    assert.match((await messages("import * as vscode from 'vscode';\nexport const v = vscode;\n", 'src/engine/x.ts')).join('\n'), /no-restricted-imports: .*must not depend on VS Code/);
    assert.match((await messages("import { activate } from '../extension/extension';\nexport const a = activate;\n", 'src/engine/x.ts')).join('\n'), /no-restricted-imports/);
  });

  it('webview-ui may not import TensorFlow.js or the engine, in .ts and .svelte files', async () => {
    assert.match((await messages("import * as tf from '@tensorflow/tfjs';\nexport const t = tf;\n", 'webview-ui/src/x.ts')).join('\n'), /must not import TensorFlow.js/);
    assert.match((await messages("import { train } from '../../src/engine/training/trainer';\nexport const t = train;\n", 'webview-ui/src/x.ts')).join('\n'), /must not import the engine/);
    const svelte = "<script lang=\"ts\">\n  import * as tf from '@tensorflow/tfjs';\n  const t = tf;\n</script>\n<p>{t}</p>\n";
    assert.match((await messages(svelte, 'webview-ui/src/X.svelte')).join('\n'), /must not import TensorFlow.js/);
  });

  it('allows the same imports where they belong', async () => {
    assert.deepEqual(await messages("import * as tf from '@tensorflow/tfjs';\nexport const t = tf;\n", 'src/engine/x.ts'), []);
    assert.deepEqual(await messages("import * as vscode from 'vscode';\nexport const v = vscode;\n", 'src/extension/x.ts'), []);
  });
});
