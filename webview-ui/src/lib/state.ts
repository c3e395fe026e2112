/**
 * The explain panel's state as plain data, the reducer that applies extension messages to it, and the shape that
 * is persisted with `acquireVsCodeApi().setState` (restored by `getState` when VS Code re-creates a hidden
 * webview). Pure and DOM-free, so it is unit-tested in Node.
 */
import type {
  Choice, ColormapName, CounterfactualMethod, ExplainResultPayload, FromWebview, ModelInfo, PanelSettings, ToWebview,
} from '../../../src/shared/protocol';
import { COLORMAPS } from '../../../src/shared/colormaps';

export const COLORMAP_NAMES: readonly ColormapName[] = COLORMAPS;

export const DEFAULT_SETTINGS: PanelSettings = { opacity: 0.5, colormap: 'viridis', counterfactual: 'gradient' };

export interface Progress {
  done: number;
  total: number;
  message: string;
}

export interface PanelState {
  imageName: string;
  model?: ModelInfo;
  settings: PanelSettings;
  /** The counterfactual picker's choices, as the extension sent them (the engine's registry, through the manifest). */
  counterfactuals: Choice[];
  /** True once the user changed a setting here: then a later `init` keeps them instead of the extension's. */
  settingsTouched: boolean;
  result?: ExplainResultPayload;
  /** Class to explain; undefined = the predicted class. */
  target?: number;
  /** CAM layer; undefined = the model's default. */
  layer?: string;
  busy: boolean;
  progress?: Progress;
  error?: string;
  /** Path of the last saved PNG (shown briefly). */
  saved?: string;
}

/** What survives a hidden (destroyed) webview. Versioned so an incompatible older state is ignored. */
export type PersistedState = { version: 1 } & Pick<
  PanelState,
  'imageName' | 'model' | 'settings' | 'settingsTouched' | 'result' | 'target' | 'layer'
>;

export function initialState(): PanelState {
  return { imageName: '', settings: { ...DEFAULT_SETTINGS }, counterfactuals: [], settingsTouched: false, busy: false };
}

export function toPersisted(s: PanelState): PersistedState {
  return {
    version: 1,
    imageName: s.imageName,
    model: s.model,
    settings: s.settings,
    settingsTouched: s.settingsTouched,
    result: s.result,
    target: s.target,
    layer: s.layer,
  };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

/** Settings with every field checked; anything missing or invalid falls back to `base`. */
export function sanitizeSettings(x: unknown, base: PanelSettings = DEFAULT_SETTINGS): PanelSettings {
  const o = isObject(x) ? x : {};
  const opacity = typeof o.opacity === 'number' && o.opacity >= 0 && o.opacity <= 1 ? o.opacity : base.opacity;
  const colormap = COLORMAP_NAMES.includes(o.colormap as ColormapName) ? (o.colormap as ColormapName) : base.colormap;
  // Any id: the engine checks it against its registry and answers an unknown one with a one-line error.
  const counterfactual = typeof o.counterfactual === 'string' && o.counterfactual ? (o.counterfactual as CounterfactualMethod) : base.counterfactual;
  return { opacity, colormap, counterfactual };
}

/** A minimal structural check of a result: enough that rendering it cannot throw on a missing field. */
export function looksLikeResult(x: unknown): x is ExplainResultPayload {
  if (!isObject(x)) return false;
  const { input, model, prediction, methods } = x;
  return (
    isObject(input) && Array.isArray(input.data) && typeof input.width === 'number' && typeof input.height === 'number'
    && isObject(model) && Array.isArray(model.classNames) && Array.isArray(model.layers)
    && isObject(prediction) && Array.isArray(prediction.probabilities)
    && Array.isArray(methods)
  );
}

/** The state to start from, given whatever `getState()` returned (undefined, an old version, garbage). */
export function restoreState(saved: unknown): PanelState {
  const s = initialState();
  if (!isObject(saved) || saved.version !== 1) return s;
  s.imageName = typeof saved.imageName === 'string' ? saved.imageName : '';
  s.settings = sanitizeSettings(saved.settings);
  s.settingsTouched = saved.settingsTouched === true;
  if (looksLikeResult(saved.result)) {
    s.result = saved.result;
    s.model = saved.result.model;
  } else if (isObject(saved.model) && Array.isArray(saved.model.classNames)) {
    s.model = saved.model as unknown as ModelInfo;
  }
  if (typeof saved.target === 'number' && Number.isInteger(saved.target) && saved.target >= 0) s.target = saved.target;
  if (typeof saved.layer === 'string') s.layer = saved.layer;
  return s;
}

/** The state after an extension message; the input is not modified. */
export function applyMessage(s: PanelState, msg: ToWebview): PanelState {
  switch (msg.type) {
    case 'init': {
      const sameImage = msg.imageName === s.imageName;
      const next: PanelState = {
        ...s,
        imageName: msg.imageName,
        model: msg.model ?? (sameImage ? s.model : undefined),
        settings: s.settingsTouched ? s.settings : sanitizeSettings(msg.settings, s.settings),
        counterfactuals: msg.counterfactuals ?? s.counterfactuals,
      };
      if (!sameImage) {
        // Another image: what was shown belongs to the old one.
        next.result = undefined;
        next.target = undefined;
        next.layer = undefined;
        next.error = undefined;
      }
      return next;
    }
    case 'progress':
      return { ...s, busy: true, error: undefined, progress: { done: msg.done, total: msg.total, message: msg.message } };
    case 'result':
      return {
        ...s,
        busy: false,
        progress: undefined,
        error: undefined,
        result: msg.result,
        model: msg.result.model,
        target: msg.result.target,
        layer: msg.result.layer,
        // The picker shows what the result used (found or not); a result without one keeps the current choice.
        settings: msg.result.counterfactual ? { ...s.settings, counterfactual: msg.result.counterfactual.method } : s.settings,
      };
    case 'partial':
      // Paint what is ready; the run goes on (busy, progress kept). Pickers keep the user's pending choice.
      return { ...s, busy: true, error: undefined, result: msg.result, model: msg.result.model };
    case 'error':
      return { ...s, busy: false, progress: undefined, error: msg.message };
    case 'cancelled':
      return { ...s, busy: false, progress: undefined };
    case 'saved':
      return { ...s, saved: msg.path };
    default:
      return s;
  }
}

/** Picker changes: the new state (busy until the extension answers) and the message to post. */
export function requestExplain(
  s: PanelState,
  change: { target?: number; layer?: string; counterfactual?: CounterfactualMethod },
): { state: PanelState; message: Extract<FromWebview, { type: 'explain' }> } {
  const target = 'target' in change ? change.target : s.target;
  const layer = 'layer' in change ? change.layer : s.layer;
  const counterfactual = change.counterfactual ?? s.settings.counterfactual;
  const settingsTouched = s.settingsTouched || (change.counterfactual !== undefined && change.counterfactual !== s.settings.counterfactual);
  const state: PanelState = {
    ...s,
    target,
    layer,
    settings: { ...s.settings, counterfactual },
    settingsTouched,
    busy: true,
    error: undefined,
    progress: { done: 0, total: 0, message: 'Starting…' },
  };
  const message: Extract<FromWebview, { type: 'explain' }> = { type: 'explain', target, layer, counterfactual };
  return { state, message };
}

/** A local display setting changed (opacity, colormap): no message to the extension. */
export function changeSettings(s: PanelState, change: Partial<Pick<PanelSettings, 'opacity' | 'colormap'>>): PanelState {
  return { ...s, settings: sanitizeSettings({ ...s.settings, ...change }, s.settings), settingsTouched: true };
}

/** The class to show as selected: the chosen one, else the result's target, else the prediction. */
export function selectedTarget(s: PanelState): number | undefined {
  return s.target ?? s.result?.target ?? s.result?.prediction.label;
}

/** The layer to show as selected: the chosen one, else the result's, else the model's default. */
export function selectedLayer(s: PanelState): string | undefined {
  return s.layer ?? s.result?.layer ?? s.model?.defaultLayer;
}
