/**
 * The only module that knows about @vscode/webview-ui-toolkit (deprecated 2025-01-01, repository archived). The
 * wrappers in this folder use its web components where it has one that works well here, and native elements styled
 * with VS Code theme variables otherwise; the rest of the app only sees the wrappers. A later move to
 * @vscode-elements/elements changes this folder only.
 *
 * Used from the toolkit: vscode-button, vscode-dropdown/vscode-option, vscode-progress-ring, vscode-divider.
 * Native: the slider (the toolkit has no range control) and the progress bar (the toolkit has only a ring).
 *
 * CSP: the toolkit styles itself with constructable stylesheets (adoptedStyleSheets), which a nonce-based
 * style-src does not block; it needs no inline <style> or style="" attributes.
 */
// Must come first: FAST reads the nonce while its modules evaluate.
import './cspNonce';
import {
  provideVSCodeDesignSystem, vsCodeButton, vsCodeDivider, vsCodeDropdown, vsCodeOption, vsCodeProgressRing,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/** Defines the custom elements once per page (called on import, before any wrapper renders). */
export function registerToolkit(): void {
  if (registered || typeof customElements === 'undefined') return;
  registered = true;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeProgressRing(), vsCodeDivider());
}

registerToolkit();
