/**
 * History strip of the debug panel (dist/webview/debugStrip.js, loaded next to the explain app): one button per
 * debugger stop in watch mode, labelled with the step and line. Clicking one shows that stop's result again by
 * handing it to the explain app as an ordinary `result` message. It never talks to the extension (the app owns the
 * page's single acquireVsCodeApi handle).
 */
import type { ExplainResultPayload } from '../../src/shared/protocol';

type StripMessage =
  | { type: 'xaiLens.debugHistoryAdd'; label: string; result: ExplainResultPayload }
  | { type: 'xaiLens.debugHistoryClear' };

const strip = document.createElement('nav');
strip.setAttribute('aria-label', 'Explanations by debugger stop');
strip.style.display = 'none';
strip.style.gap = '4px';
strip.style.flexWrap = 'wrap';
strip.style.padding = '4px 8px';
strip.style.borderBottom = '1px solid var(--vscode-panel-border)';
document.body.prepend(strip);

function top(result: ExplainResultPayload): string {
  const p = result.prediction.probabilities[result.prediction.label];
  return `${result.model.classNames[result.prediction.label] ?? result.prediction.label}${typeof p === 'number' ? ` ${(p * 100).toFixed(0)} %` : ''}`;
}

window.addEventListener('message', (e: MessageEvent<StripMessage>) => {
  const m = e.data;
  if (m?.type === 'xaiLens.debugHistoryClear') {
    strip.replaceChildren();
    strip.style.display = 'none';
  } else if (m?.type === 'xaiLens.debugHistoryAdd') {
    const b = document.createElement('button');
    b.textContent = `${m.label} → ${top(m.result)}`;
    b.title = `Show the explanation of ${m.result.imagePath} at ${m.label}`;
    b.style.font = 'inherit';
    b.style.color = 'var(--vscode-button-secondaryForeground)';
    b.style.background = 'var(--vscode-button-secondaryBackground)';
    b.style.border = 'none';
    b.style.padding = '2px 6px';
    b.style.cursor = 'pointer';
    b.addEventListener('click', () => window.postMessage({ type: 'result', result: m.result }, '*'));
    strip.append(b);
    strip.style.display = 'flex';
  }
});
