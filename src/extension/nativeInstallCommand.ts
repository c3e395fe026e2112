/**
 * *XAI Lens: Install Native Backend* (`xaiLens.installNativeBackend`): a quick pick of the native TensorFlow packages,
 * then src/extension/nativeInstall.ts under a cancellable progress notification. npm's output goes to the XAI Lens
 * output channel; the user sees one line either way.
 */
import * as vscode from 'vscode';
import { NATIVE_PACKAGES, isNativePackageName, type NativePackageName } from '../shared/nativeBackend';
import { BUNDLED_TFJS_VERSION, installNativeBackend, type InstallOutcome, type InstallStep } from './nativeInstall';

export const INSTALL_NATIVE_COMMAND = 'xaiLens.installNativeBackend';

/** What the command resolves with (callers such as the host tests read it); undefined when nothing was picked. */
export type NativeInstallResult = InstallOutcome & { pkg: NativePackageName; message?: string };

const STEP_MESSAGES: Record<InstallStep, string> = {
  npm: 'npm install (it downloads libtensorflow too)…',
  verify: 'checking that it loads…',
};

async function pickPackage(): Promise<NativePackageName | undefined> {
  const picked = await vscode.window.showQuickPick(
    NATIVE_PACKAGES.map((p) => ({ label: p.name, description: p.label, detail: p.detail, name: p.name })),
    { title: 'XAI Lens: Install Native Backend', placeHolder: `TensorFlow backend to install (version ${BUNDLED_TFJS_VERSION}, as bundled)` },
  );
  return picked?.name;
}

export function registerNativeInstall(context: vscode.ExtensionContext, output: vscode.OutputChannel): vscode.Disposable {
  let running: Promise<NativeInstallResult> | undefined;

  const install = async (pkg: NativePackageName): Promise<NativeInstallResult> => {
    output.appendLine(`Installing ${pkg}@${BUNDLED_TFJS_VERSION} into ${context.globalStorageUri.fsPath}`);
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `XAI Lens: installing ${pkg}`, cancellable: true },
      (progress, token) => {
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort());
        return installNativeBackend({
          storageDir: context.globalStorageUri.fsPath,
          pkg,
          log: (line) => output.appendLine(line),
          step: (step) => progress.report({ message: STEP_MESSAGES[step] }),
          signal: abort.signal,
        }).finally(() => sub.dispose());
      },
    );
    if (outcome.ok) {
      const restart = 'Restart Engine';
      void vscode.window.showInformationMessage(`XAI Lens: ${pkg} is installed. Restart the engine to use it.`, restart).then((choice) => {
        if (choice === restart) void vscode.commands.executeCommand('xaiLens.restartEngine');
      });
      return { ...outcome, pkg };
    }
    if (outcome.cancelled) {
      output.appendLine(`Installing ${pkg} was cancelled; nothing was changed.`);
      return { ...outcome, pkg };
    }
    output.appendLine(`Installing ${pkg} failed: ${outcome.reason}`);
    const message = `XAI Lens: could not install ${pkg}: ${outcome.reason}`;
    void vscode.window.showErrorMessage(message, 'Show Output').then((choice) => choice && output.show());
    return { ...outcome, pkg, message };
  };

  // The package as argument (other extensions, tests) skips the quick pick, e.g.
  // executeCommand('xaiLens.installNativeBackend', '@tensorflow/tfjs-node').
  return vscode.commands.registerCommand(INSTALL_NATIVE_COMMAND, async (arg?: unknown): Promise<NativeInstallResult | undefined> => {
    if (running) {
      void vscode.window.showInformationMessage('XAI Lens: a native backend is being installed already.');
      return running;
    }
    if (typeof arg === 'string' && !isNativePackageName(arg)) {
      void vscode.window.showErrorMessage(`XAI Lens: "${arg}" is not a native backend; expected ${NATIVE_PACKAGES.map((p) => p.name).join(' or ')}.`);
      return undefined;
    }
    const pkg = isNativePackageName(arg) ? arg : await pickPackage();
    if (!pkg) return undefined;
    running = install(pkg);
    try {
      return await running;
    } finally {
      running = undefined;
    }
  });
}
