/** The gallery's filter and sort, pure so unit tests can check them. */
import type { Mistake } from '../../../src/shared/mistakesProtocol';

export type SortOrder = 'confidence-desc' | 'confidence-asc';

export interface GalleryFilter {
  /** Class index, or -1 for any. */
  trueLabel: number;
  predicted: number;
  order: SortOrder;
}

export const ANY = -1;

export function filterMistakes(mistakes: readonly Mistake[], f: GalleryFilter): Mistake[] {
  const sign = f.order === 'confidence-asc' ? 1 : -1;
  return mistakes
    .filter((m) => (f.trueLabel === ANY || m.trueLabel === f.trueLabel) && (f.predicted === ANY || m.predicted === f.predicted))
    .sort((a, b) => sign * (a.confidence - b.confidence) || a.id - b.id);
}

/** The classes that occur in the list as true (or predicted) labels, with their counts, for the filter pickers. */
export function classCounts(mistakes: readonly Mistake[], key: 'trueLabel' | 'predicted'): Map<number, number> {
  const counts = new Map<number, number>();
  for (const m of mistakes) counts.set(m[key], (counts.get(m[key]) ?? 0) + 1);
  return new Map([...counts.entries()].sort((a, b) => a[0] - b[0]));
}
