/** Typed access to the extension's settings (contributed in package.json under "xaiLens.*"). */
import * as vscode from 'vscode';
import { METHOD_IDS, type BackendChoice, type ColormapName, type CounterfactualMethod, type ExplainParams, type MethodId, type PanelSettings } from '../shared/protocol';

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

export function methodsSetting(): MethodId[] {
  const wanted = cfg().get<string[]>('methods', [...METHOD_IDS]);
  const valid = METHOD_IDS.filter((m) => wanted.includes(m));
  return valid.length ? valid : [...METHOD_IDS];
}

export function panelSettings(): PanelSettings {
  return {
    opacity: Math.min(1, Math.max(0, cfg().get<number>('opacity', 0.5))),
    colormap: cfg().get<ColormapName>('colormap', 'viridis'),
    counterfactual: cfg().get<CounterfactualMethod>('counterfactual', 'gradient'),
  };
}

export function methodOptions(): ExplainParams['methodOptions'] {
  return {
    smoothgrad: { samples: cfg().get<number>('smoothGrad.samples', 50) },
    lime: { samples: cfg().get<number>('lime.samples', 1000) },
    ig: { steps: cfg().get<number>('integratedGradients.steps', 50) },
  };
}
