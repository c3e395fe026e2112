/** Typed access to the extension's settings (contributed in package.json under "xaiLens.*"). */
import * as vscode from 'vscode';
import type { BackendChoice, Choice, ColormapName, CounterfactualMethod, ExplainParams, MethodId, PanelSettings } from '../shared/protocol';

export const SECTION = 'xaiLens';

function cfg(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

export function backendSetting(): BackendChoice {
  return cfg().get<BackendChoice>('backend', 'auto');
}

export function defaultModelSetting(): string {
  return cfg().get<string>('defaultModel', '').trim();
}

/** The methods to run; empty means every method the engine has (the manifest's enum is generated from its registry). */
export function methodsSetting(): MethodId[] {
  return cfg().get<string[]>('methods', []);
}

export function panelSettings(): PanelSettings {
  return {
    opacity: Math.min(1, Math.max(0, cfg().get<number>('opacity', 0.5))),
    colormap: cfg().get<ColormapName>('colormap', 'viridis'),
    counterfactual: cfg().get<CounterfactualMethod>('counterfactual', 'gradient'),
  };
}

interface SettingSchema {
  enum?: string[];
  enumDescriptions?: string[];
  enumItemLabels?: string[];
}

function settingSchemas(extension: vscode.Extension<unknown>): Record<string, SettingSchema> {
  return (extension.packageJSON as { contributes: { configuration: { properties: Record<string, SettingSchema> } } }).contributes.configuration.properties;
}

/** The counterfactual choices as the manifest lists them (generated from the engine's registry). */
export function counterfactualChoices(extension: vscode.Extension<unknown>): Choice[] {
  const s = settingSchemas(extension)[`${SECTION}.counterfactual`];
  return (s.enum ?? []).map((id, i) => ({ id, label: s.enumItemLabels?.[i] ?? id }));
}

/** `xaiLens.explainer.<method>.<option>` settings: their keys come from the manifest, generated from the explainers' schemas. */
const EXPLAINER_SETTING = /^xaiLens\.explainer\.([^.]+)\.([^.]+)$/;

export function methodOptions(extension: vscode.Extension<unknown>): ExplainParams['methodOptions'] {
  const properties = settingSchemas(extension);
  const options: NonNullable<ExplainParams['methodOptions']> = {};
  for (const key of Object.keys(properties)) {
    const m = EXPLAINER_SETTING.exec(key);
    const value = m && cfg().get<number | string | boolean>(key.slice(`${SECTION}.`.length));
    if (m && value !== undefined && value !== null) (options[m[1]] ??= {})[m[2]] = value;
  }
  return options;
}
