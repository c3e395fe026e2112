/**
 * Which debugger variables can be images, judged from what the Variables view already has (type and value
 * preview), so the menu appears without evaluating anything. The helper decides for sure when the command runs; a
 * false positive only costs a one-line "not an image" message. Pure: no `vscode`.
 */
import type { DebugLanguage } from './helperProtocol';

/** `__vscodeVariableMenuContext` value of image-like variables; the menus' `when` clauses test it. */
export const IMAGE_MENU_CONTEXT = 'xaiLensImage';

export interface DapVariable {
  name: string;
  value: string;
  type?: string;
  evaluateName?: string;
  __vscodeVariableMenuContext?: string;
}

const IMAGE_PATH = /\.(png|jpe?g)['"`]?$/i;
const PY_TYPES = /^(ndarray|Tensor|Parameter|Image|\w*ImageFile|memmap)$/;
const JS_TYPES = /^(Tensor|Variable|ImageData|Float32Array|Float64Array|Int32Array|Uint8Array|Uint8ClampedArray|Int16Array|Uint16Array|Int8Array|Buffer)$/;

export function isImageLike(v: DapVariable, lang: DebugLanguage): boolean {
  const type = (v.type ?? '').trim();
  const value = v.value ?? '';
  if (lang === 'python') {
    if (PY_TYPES.test(type)) return !/^Tensor$/.test(type) || !/^tensor\([^[]*\)$/.test(value); // a 0-d tensor is a number
    if (type === 'bytes' || type === 'bytearray') return /^b(ytearray\(b)?['"](\\x89PNG|\\xff\\xd8\\xff)/.test(value);
    if (type === 'str') return IMAGE_PATH.test(value);
    return false;
  }
  if (JS_TYPES.test(type)) return true;
  if (type === 'string') return IMAGE_PATH.test(value);
  // Nested arrays: js-debug previews them as "(28) [Array(28), Array(28), …]".
  if (type === 'Array' || /^\(\d+\) \[/.test(value)) return /^\(\d+\) \[Array\(\d+\)/.test(value);
  return false;
}

/** Marks the image-like variables of a DAP `variables` response body in place; returns how many it marked. */
export function markVariables(variables: DapVariable[], lang: DebugLanguage): number {
  let n = 0;
  for (const v of variables) {
    if (v.__vscodeVariableMenuContext === undefined && isImageLike(v, lang)) {
      v.__vscodeVariableMenuContext = IMAGE_MENU_CONTEXT;
      n++;
    }
  }
  return n;
}

const JS_MODEL_TYPES = /^(LayersModel|Sequential|Functional|Model)$/;

/** JavaScript model variables among a scope's variables (Python asks the helper, which sees the real classes). */
export function jsModelNames(variables: DapVariable[]): string[] {
  return variables.filter((v) => JS_MODEL_TYPES.test((v.type ?? '').trim())).map((v) => v.evaluateName ?? v.name);
}
