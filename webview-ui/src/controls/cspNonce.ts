/**
 * FAST (under the toolkit) probes `:focus-visible` support by inserting a <style> element, which a nonce-based
 * style-src blocks (a CSP violation report, and focus rings fall back to `:focus`) unless the nonce is published in
 * <meta property="csp-nonce">. Publish the page's script nonce there if the page has not done it already.
 */
function publishCspNonce(): void {
  if (typeof document === 'undefined') return;
  if (document.querySelector('meta[property="csp-nonce"]')) return;
  const nonce = document.querySelector<HTMLScriptElement>('script[nonce]')?.nonce;
  if (!nonce) return;
  const meta = document.createElement('meta');
  meta.setAttribute('property', 'csp-nonce');
  meta.setAttribute('content', nonce);
  document.head.appendChild(meta);
}

publishCspNonce();
