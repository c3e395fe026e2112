/** Every attribution method, registered once. Order is the order of reports and panels. */
import { XaiLensError } from '../errors';
import type { Explainer } from './types';
import { gradCam, gradCamPlusPlus, scoreCam } from './methods/cam';
import { integratedGradients, smoothGrad, vanillaGradients } from './methods/gradients';
import { lime } from './methods/lime';
import { attentionMap } from './methods/attention';

export const EXPLAINERS: readonly Explainer[] = [
  gradCam, gradCamPlusPlus, scoreCam, vanillaGradients, smoothGrad, integratedGradients, lime, attentionMap,
];

export function getExplainer(id: string): Explainer {
  const e = EXPLAINERS.find((x) => x.id === id.trim().toLowerCase());
  if (!e) throw new XaiLensError(`unknown method "${id}"; available: ${EXPLAINERS.map((x) => x.id).join(', ')}, all`);
  return e;
}

/** "gradcam,lime" or "all" → explainers, in registry order, without duplicates. */
export function parseMethods(spec: string | undefined): Explainer[] {
  if (!spec || spec.trim().toLowerCase() === 'all') return [...EXPLAINERS];
  const wanted = new Set(spec.split(',').filter((s) => s.trim()).map((s) => getExplainer(s).id));
  if (!wanted.size) throw new XaiLensError('no methods given');
  return EXPLAINERS.filter((e) => wanted.has(e.id));
}
