/**
 * Training from the editor: *XAI Lens: Fine-tune Model…* / *Fine-tune on This Folder* / *Train Model…* ask with quick
 * picks and run an `xaiLens` task (taskProvider.ts); the dashboard (dashboard.ts) opens with the task; at the end a
 * notification offers *Explain with the New Model* and *Show Mistakes* (mistakes.ts).
 */
import * as vscode from 'vscode';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { TASK_TYPE, type TrainTaskDefinition } from '../../shared/trainTask';
import type { EngineClient } from '../engineClient';
import type { EngineCli } from '../engineChild';
import { TrainingDashboard } from './dashboard';
import { MistakesGallery } from './mistakes';
import { TrainingTaskProvider } from './taskProvider';
import type { TrainingRun } from './trainingRun';

export interface TrainingDeps {
  engine: EngineClient;
  /** Opens the explain panel for an image with a model folder. */
  explain(image: vscode.Uri, modelDir: string): Thenable<unknown>;
  /** The model quick pick (bundled, workspace, recent, browse). */
  pickModel(): Promise<string | undefined>;
  bundledModelDir: string;
  rememberModel(dir: string): void;
  /** Where the CLI processes also look for a native backend (`<globalStorage>/native/node_modules`). */
  nativeModules: string;
}

/** What tests reach through the extension's API. */
export interface TrainingApi {
  runs: TrainingRun[];
  dashboard: TrainingDashboard;
  mistakes: MistakesGallery;
  provider: TrainingTaskProvider;
}

interface Choice<T> extends vscode.QuickPickItem {
  value?: T;
  custom?: boolean;
}

async function pickValue<T>(title: string, items: Choice<T>[], custom?: { prompt: string; parse: (s: string) => T | undefined; error: string }): Promise<T | undefined> {
  const pick = await vscode.window.showQuickPick(items, { title, ignoreFocusOut: true });
  if (!pick) return undefined;
  if (!pick.custom || !custom) return pick.value;
  const text = await vscode.window.showInputBox({ title, prompt: custom.prompt, ignoreFocusOut: true, validateInput: (s) => (custom.parse(s) === undefined ? custom.error : undefined) });
  return text === undefined ? undefined : custom.parse(text);
}

/** Architecture ids from the manifest's task definition (checked against the engine's zoo by a unit test). */
function architectures(context: vscode.ExtensionContext): string[] {
  const defs = (context.extension.packageJSON as { contributes: { taskDefinitions: { type: string; properties: Record<string, { enum?: string[] }> }[] } }).contributes.taskDefinitions;
  return defs.find((d) => d.type === TASK_TYPE)?.properties.model.enum ?? [];
}

async function pickDataset(): Promise<string | undefined> {
  const items: Choice<string>[] = [
    { label: '$(folder-opened) Choose a folder…', description: 'one subfolder of images per class', custom: true },
    { label: 'mnist', description: 'MNIST digits (bundled)', value: 'mnist' },
    { label: 'fashion-mnist', description: 'Fashion-MNIST (Debian package dataset-fashion-mnist)', value: 'fashion-mnist' },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'XAI Lens: dataset', ignoreFocusOut: true });
  if (!pick) return undefined;
  if (!pick.custom) return pick.value;
  const uris = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Train on this folder', defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri });
  return uris?.[0]?.fsPath;
}

/**
 * Epochs, learning rate and augmentation; undefined when the user cancels a pick. The command's own default comes
 * first in each list (augmentation: on for train, off for finetune) and is left out of the task definition.
 */
async function pickRecipe(defaultEpochs: number, augmentByDefault: boolean): Promise<Pick<TrainTaskDefinition, 'epochs' | 'lr' | 'augment'> | undefined> {
  const epochs = await pickValue<number>(
    'XAI Lens: epochs',
    [...[1, 3, 5, 10, 20].map((n): Choice<number> => ({ label: String(n), description: n === defaultEpochs ? 'suggested' : undefined, value: n })), { label: 'Other…', custom: true }],
    { prompt: 'Number of epochs', parse: (s) => (/^\d+$/.test(s.trim()) && Number(s) >= 1 ? Number(s) : undefined), error: 'a whole number ≥ 1' },
  );
  if (epochs === undefined) return undefined;
  const lr = await pickValue<number | null>(
    'XAI Lens: learning rate',
    [
      { label: 'Default', description: "the engine's default for this command", value: null },
      ...[3e-3, 1e-3, 3e-4, 1e-4].map((v) => ({ label: String(v), value: v })),
      { label: 'Other…', custom: true },
    ],
    { prompt: 'Learning rate (Adam)', parse: (s) => (Number(s) > 0 && Number.isFinite(Number(s)) ? Number(s) : undefined), error: 'a positive number' },
  );
  if (lr === undefined) return undefined;
  const choices: Choice<boolean>[] = [
    { label: 'On', description: 'rotation ±12°, translation ±2 px, elastic distortion on 30 % of images', value: true },
    { label: 'Off', value: false },
  ];
  if (!augmentByDefault) choices.reverse();
  choices[0].description = `${choices[0].description ? `${choices[0].description} · ` : ''}default`;
  const augment = await pickValue<boolean>('XAI Lens: augmentation', choices);
  if (augment === undefined) return undefined;
  return { epochs, ...(lr === null ? {} : { lr }), ...(augment === augmentByDefault ? {} : { augment }) };
}

export function registerTraining(context: vscode.ExtensionContext, deps: TrainingDeps): TrainingApi {
  const cli: EngineCli = { script: vscode.Uri.joinPath(context.extensionUri, 'dist', 'cli.js').fsPath, nativeModules: deps.nativeModules };
  const runs: TrainingRun[] = [];
  const mistakes = new MistakesGallery(context, deps.engine, cli, deps.explain);

  const explainWithRun = async (run: TrainingRun) => {
    const data = run.data && isAbsolute(run.data) && existsSync(run.data) ? vscode.Uri.file(run.data) : vscode.workspace.workspaceFolders?.[0]?.uri;
    const uris = await vscode.window.showOpenDialog({ canSelectMany: false, defaultUri: data, filters: { Images: ['png', 'jpg', 'jpeg'] }, openLabel: 'Explain' });
    if (uris?.[0]) await deps.explain(uris[0], run.outDir);
  };
  const mistakesOfRun = async (run: TrainingRun) => {
    if (!isAbsolute(run.data) || !existsSync(run.data)) {
      void vscode.window.showWarningMessage(`XAI Lens: the mistakes gallery needs a dataset folder; ${run.data} is not one.`);
      return;
    }
    await mistakes.show(run.outDir, run.data);
  };
  const dashboard = new TrainingDashboard(context, { explain: (r) => void explainWithRun(r), showMistakes: (r) => void mistakesOfRun(r) });

  const onRun = (run: TrainingRun) => {
    runs.push(run);
    dashboard.show(run);
    void run.finished.then(async () => {
      if (run.state !== 'done') return;
      deps.rememberModel(run.outDir);
      const last = run.epochs.at(-1)?.record;
      const acc = last && Number.isFinite(last.valAccuracy) ? `, validation accuracy ${(last.valAccuracy * 100).toFixed(2)} %` : '';
      const explain = 'Explain with the New Model';
      const show = 'Show Mistakes';
      const choice = await vscode.window.showInformationMessage(`XAI Lens: ${run.label} finished${acc}. Model saved in ${vscode.workspace.asRelativePath(run.outDir)}.`, explain, show);
      if (choice === explain) await explainWithRun(run);
      if (choice === show) await mistakesOfRun(run);
    });
  };
  const provider = new TrainingTaskProvider(cli, onRun);

  const runTask = async (def: TrainTaskDefinition) => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    return vscode.tasks.executeTask(provider.createTask(def, folder ?? vscode.TaskScope.Workspace));
  };
  const relativeData = (p: string) => {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    return folder && p.startsWith(`${folder}/`) ? p.slice(folder.length + 1) : p;
  };

  const fineTune = async (folderArg?: unknown) => {
    const from = await deps.pickModel();
    if (!from) return undefined;
    let data = folderArg instanceof vscode.Uri ? folderArg.fsPath : undefined;
    if (data && !statSync(data).isDirectory()) data = undefined;
    data ??= await pickDataset();
    if (!data) return undefined;
    const recipe = await pickRecipe(5, false);
    if (!recipe) return undefined;
    return runTask({ ...recipe, type: TASK_TYPE, command: 'finetune', from: from === deps.bundledModelDir ? 'default' : from, data: relativeData(data) });
  };

  context.subscriptions.push(
    dashboard,
    mistakes,
    vscode.tasks.registerTaskProvider(TASK_TYPE, provider),
    vscode.commands.registerCommand('xaiLens.fineTune', () => fineTune()),
    vscode.commands.registerCommand('xaiLens.fineTuneFolder', (folder?: unknown) => fineTune(folder)),
    vscode.commands.registerCommand('xaiLens.trainModel', async () => {
      const ids = architectures(context);
      const model = await vscode.window.showQuickPick(ids, { title: 'XAI Lens: architecture to train from scratch', ignoreFocusOut: true });
      if (!model) return undefined;
      const data = await pickDataset();
      if (!data) return undefined;
      const recipe = await pickRecipe(10, true);
      if (!recipe) return undefined;
      return runTask({ ...recipe, type: TASK_TYPE, command: 'train', model, data: relativeData(data) });
    }),
    vscode.commands.registerCommand('xaiLens.showTrainingDashboard', () => {
      const run = dashboard.shownRun ?? runs.at(-1);
      if (!run) {
        void vscode.window.showInformationMessage('XAI Lens: no training run yet in this window. Start one with "XAI Lens: Fine-tune Model…" or "XAI Lens: Train Model…".');
        return;
      }
      dashboard.show(run, false);
    }),
    vscode.commands.registerCommand('xaiLens.showMistakes', async (arg?: { model?: string; data?: string } | vscode.Uri) => {
      const given = arg instanceof vscode.Uri ? { data: arg.fsPath } : (arg ?? {});
      const model = given.model ?? (await deps.pickModel());
      if (!model) return undefined;
      let data = given.data;
      if (!data) {
        const uris = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Evaluate on this folder', title: 'Dataset folder (one subfolder per class)', defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri });
        data = uris?.[0]?.fsPath;
      }
      if (!data) return undefined;
      return mistakes.show(model, data);
    }),
  );
  return { runs, dashboard, mistakes, provider };
}
