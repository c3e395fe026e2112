import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import svelteParser from 'svelte-eslint-parser';

// Architectural boundaries are enforced here, not by convention: the engine must run without VS Code (CLI, engine
// process, tests), and the webview must stay a thin renderer that never loads TensorFlow.js.
const webviewBoundary = {
  'no-restricted-imports': ['error', {
    patterns: [
      { group: ['@tensorflow/*'], message: 'The webview must not import TensorFlow.js: it receives arrays and PNGs.' },
      { group: ['**/src/engine/**', '**/engine/**'], message: 'The webview must not import the engine.' },
      { group: ['vscode'], message: 'The webview runs in a browser sandbox; use acquireVsCodeApi().' },
    ],
  }],
};

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.vscode-test/**', 'media/**', 'scratch/**', 'runs/**', 'xai-lens-out/**', 'build/**', 'test-artifacts/**', '*.mjs', 'bin/**', 'src/engine/backend/simd/**'] },
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/engine/**/*.ts', 'src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'src/engine and src/shared must not depend on VS Code.' }],
        patterns: [{ group: ['**/extension/**', '**/webview-ui/**'], message: 'The engine must not import the extension or the webview.' }],
      }],
    },
  },
  { files: ['webview-ui/**/*.ts'], rules: webviewBoundary },
  {
    files: ['webview-ui/**/*.svelte'],
    languageOptions: { parser: svelteParser, parserOptions: { parser: tseslint.parser } },
    rules: webviewBoundary,
  },
);
