// Dev preview harness: a stub acquireVsCodeApi that plays the extension's part with the fixture
// (window.__FIXTURE__, from /fixture.js). Query parameters:
//   scenario = result (default) | progress | error | notfound | restore | interact | empty | broken
//   theme    = dark (default) | light
// Everything the page posts, every CSP violation and the interaction checks go to <pre id="harness-log"> as JSON
// lines (read it with chromium --dump-dom) and to the console.
(() => {
  const params = new URLSearchParams(location.search);
  const scenario = params.get('scenario') ?? 'result';
  if (params.get('theme') === 'light') document.documentElement.classList.add('light');
  const fixture = window.__FIXTURE__;
  const settings = { opacity: 0.5, colormap: 'viridis', counterfactual: 'gradient' };
  const imageName = 'digit-7.png';
  const lines = [];
  const log = (kind, data) => {
    const line = JSON.stringify({ kind, ...data });
    lines.push(line);
    console.log('[harness]', line);
    const pre = document.getElementById('harness-log');
    if (pre) pre.textContent = lines.join('\n');
  };
  window.__harnessLog = lines;

  document.addEventListener('securitypolicyviolation', (e) => {
    log('csp', { directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile, line: e.lineNumber });
  });
  window.addEventListener('error', (e) => log('error', { message: String(e.message) }));

  const send = (msg) => window.postMessage(msg, '*');
  let state = scenario === 'restore'
    ? { version: 1, imageName, settings: { ...settings, colormap: 'inferno', opacity: 0.7 }, settingsTouched: true, result: fixture, target: fixture.target, layer: fixture.layer, model: fixture.model }
    : undefined;
  const posted = [];
  window.__posted = posted;

  window.acquireVsCodeApi = () => ({
    getState: () => state,
    setState: (s) => {
      state = JSON.parse(JSON.stringify(s));
      log('setState', { keys: Object.keys(s), target: s.target, layer: s.layer, settings: s.settings, hasResult: !!s.result });
    },
    postMessage: (m) => {
      posted.push(m);
      log('posted', m.type === 'savePng' ? { type: m.type, name: m.name, dataUrl: m.dataUrl.slice(0, 30) + '…', length: m.dataUrl.length } : m);
      if (m.type === 'ready') onReady();
      if (m.type === 'savePng') setTimeout(() => send({ type: 'saved', path: `/workspace/.xai-lens/${m.name}` }), 50);
      if (m.type === 'cancel') setTimeout(() => send({ type: 'cancelled' }), 50);
    },
  });

  function onReady() {
    switch (scenario) {
      case 'restore':
        return; // the extension has not answered yet: the restored result must already be on screen
      case 'empty':
        send({ type: 'init', imageName, settings, model: fixture.model });
        return;
      case 'progress':
        send({ type: 'init', imageName, settings, model: fixture.model });
        send({ type: 'result', result: fixture });
        send({ type: 'progress', done: 3, total: 7, message: 'Score-CAM' });
        return;
      case 'error':
        send({ type: 'init', imageName, settings, model: fixture.model });
        send({ type: 'result', result: fixture });
        send({ type: 'error', message: 'Layer "block0_dw" is not a 4-D layer of this model.' });
        return;
      case 'broken': {
        // Malformed parts: a heatmap of the wrong length and a counterfactual of another size.
        const methods = fixture.methods.map((m, i) => (i === 1 ? { ...m, data: m.data.slice(1) } : m));
        const cf = { ...fixture.counterfactual, image: { width: 2, height: 2, channels: 1, data: [0, 0, 0, 0] } };
        send({ type: 'init', imageName, settings, model: fixture.model });
        send({ type: 'result', result: { ...fixture, methods, counterfactual: cf } });
        return;
      }
      case 'notfound':
        send({ type: 'init', imageName, settings: { ...settings, colormap: 'jet' }, model: fixture.model });
        send({ type: 'result', result: { ...fixture, counterfactual: { ...fixture.counterfactual, method: 'growing-spheres', found: false } } });
        return;
      default:
        send({ type: 'init', imageName, settings, model: fixture.model });
        send({ type: 'result', result: fixture });
        if (scenario === 'interact') setTimeout(interact, 300);
    }
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function interact() {
    const check = (name, ok, detail) => log('check', { name, ok: !!ok, ...(detail === undefined ? {} : { detail }) });
    try {
      // Controls are real, focusable and labelled.
      const dropdowns = [...document.querySelectorAll('vscode-dropdown')];
      check('four dropdowns with labels', dropdowns.length === 4 && dropdowns.every((d) => document.getElementById(d.getAttribute('aria-labelledby'))?.textContent), dropdowns.map((d) => d.id));
      check('dropdowns focusable', dropdowns.every((d) => d.tabIndex === 0), dropdowns.map((d) => d.tabIndex));
      check('class picker shows predicted', document.getElementById('pick-class').value === String(fixture.prediction.label), document.getElementById('pick-class').value);
      check('layer picker shows result layer', document.getElementById('pick-layer').value === fixture.layer, document.getElementById('pick-layer').value);
      const slider = document.getElementById('opacity');
      check('opacity slider labelled', slider?.labels?.[0]?.textContent === 'Heatmap opacity');
      const buttons = [...document.querySelectorAll('vscode-button')];
      check('buttons have an inner native button', buttons.every((b) => b.shadowRoot?.querySelector('button')), buttons.length);
      check('no inline style attributes outside the toolkit', [...document.querySelectorAll('#app [style]')].every((e) => e.tagName === 'CANVAS' || e.classList.contains('fill')), [...document.querySelectorAll('#app [style]')].map((e) => e.tagName + '.' + e.className).slice(0, 5));

      // Focus: a dropdown takes focus and shows the theme focus border.
      dropdowns[0].focus();
      await sleep(50);
      check('dropdown takes focus', document.activeElement === dropdowns[0]);
      slider.focus();
      await sleep(50);
      check('slider focus outline', getComputedStyle(slider).outlineStyle !== 'none', getComputedStyle(slider).outlineColor);

      // Local settings: opacity and colormap change the tiles, post nothing.
      const before = posted.length;
      const canvas = document.querySelector('.tiles canvas');
      const px = () => Array.from(canvas.getContext('2d').getImageData(14, 14, 1, 1).data);
      const p0 = px();
      slider.value = '0.9';
      slider.dispatchEvent(new Event('input', { bubbles: true }));
      await sleep(50);
      const p1 = px();
      check('opacity changes the overlay', p0.join() !== p1.join(), { p0, p1 });
      const cm = document.getElementById('pick-colormap');
      cm.value = 'jet';
      cm.dispatchEvent(new Event('change', { bubbles: true }));
      await sleep(50);
      check('colormap changes the overlay', px().join() !== p1.join(), px());
      check('settings post nothing', posted.length === before, posted.slice(before));
      check('canvas is native size, shown ×8', canvas.width === 28 && canvas.clientWidth === 224 && getComputedStyle(canvas).imageRendering === 'pixelated', [canvas.width, canvas.clientWidth, getComputedStyle(canvas).imageRendering]);

      // Pickers post explain requests.
      const cls = document.getElementById('pick-class');
      cls.value = '3';
      cls.dispatchEvent(new Event('change', { bubbles: true }));
      await sleep(50);
      const last = () => posted[posted.length - 1];
      check('class picker posts explain', JSON.stringify(last()) === JSON.stringify({ type: 'explain', target: 3, layer: fixture.layer, counterfactual: 'gradient' }), last());
      check('busy state with cancel', !!document.querySelector('progress') && [...document.querySelectorAll('vscode-button')].some((b) => b.textContent.trim() === 'Cancel'));
      const cf = document.getElementById('pick-counterfactual');
      cf.value = 'growing-spheres';
      cf.dispatchEvent(new Event('change', { bubbles: true }));
      await sleep(50);
      check('counterfactual picker posts explain', JSON.stringify(last()) === JSON.stringify({ type: 'explain', target: 3, layer: fixture.layer, counterfactual: 'growing-spheres' }), last());
      const layer = document.getElementById('pick-layer');
      layer.value = 'stage1_cbam';
      layer.dispatchEvent(new Event('change', { bubbles: true }));
      await sleep(50);
      check('layer picker posts explain', JSON.stringify(last()) === JSON.stringify({ type: 'explain', target: 3, layer: 'stage1_cbam', counterfactual: 'growing-spheres' }), last());

      // Cancel.
      [...document.querySelectorAll('vscode-button')].find((b) => b.textContent.trim() === 'Cancel').click();
      await sleep(150);
      check('cancel posts cancel', posted.some((m) => m.type === 'cancel'));
      check('cancelled clears busy', !document.querySelector('progress'));

      // Progress text.
      send({ type: 'progress', done: 2, total: 7, message: 'Grad-CAM++' });
      await sleep(50);
      check('progress text', document.querySelector('.busy [role=status]')?.textContent === '2/7: Grad-CAM++', document.querySelector('.busy [role=status]')?.textContent);
      const bar = document.querySelector('progress');
      check('progress bar value', bar?.value === 2 && bar?.max === 7);
      send({ type: 'result', result: { ...fixture, target: 3 } });
      await sleep(50);
      check('result clears busy, class picker follows result', !document.querySelector('progress') && cls.value === '3', cls.value);

      // Save a tile: a 224×224 PNG named after the image and the method.
      const save = [...document.querySelectorAll('vscode-button')].find((b) => b.getAttribute('aria-label') === 'Save Grad-CAM as PNG');
      save.click();
      await sleep(50);
      const msg = posted.filter((m) => m.type === 'savePng').pop();
      check('save posts savePng', msg?.name === 'digit-7.gradcam.png' && msg.dataUrl.startsWith('data:image/png;base64,'), msg?.name);
      const img = new Image();
      img.src = msg.dataUrl;
      await img.decode();
      check('saved PNG is 224×224', img.naturalWidth === 224 && img.naturalHeight === 224, [img.naturalWidth, img.naturalHeight]);
      const c2 = document.createElement('canvas');
      c2.width = 224;
      c2.height = 224;
      const ctx = c2.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const block = Array.from(ctx.getImageData(8 * 14, 8 * 14, 8, 8).data);
      check('saved PNG is pixel-exact (8×8 blocks)', block.every((v, i) => v === block[i % 4]), block.slice(0, 8));
      [...document.querySelectorAll('vscode-button')].find((b) => b.getAttribute('aria-label') === 'Save the counterfactual strip as PNG').click();
      await sleep(50);
      const strip = posted.filter((m) => m.type === 'savePng').pop();
      const img2 = new Image();
      img2.src = strip.dataUrl;
      await img2.decode();
      check('strip PNG is 3 × 224 + 2 gaps', strip.name === 'digit-7.counterfactual.png' && img2.naturalWidth === 3 * 224 + 2 * 16 && img2.naturalHeight === 224, [strip.name, img2.naturalWidth, img2.naturalHeight]);
      await sleep(150);
      check('saved confirmation', document.querySelector('.saved')?.textContent.includes('/workspace/.xai-lens/digit-7.counterfactual.png'), document.querySelector('.saved')?.textContent);

      // Error banner.
      send({ type: 'error', message: 'boom' });
      await sleep(50);
      check('error banner', document.querySelector('[role=alert]')?.textContent.includes('boom'));

      // Persistence: the last setState holds the result and the choices.
      await sleep(300);
      check('state persisted', state?.version === 1 && !!state.result && state.target === 3 && state.settings.colormap === 'jet' && state.settings.opacity === 0.9, { target: state?.target, settings: state?.settings });
    } catch (e) {
      log('error', { message: String(e && e.stack || e) });
    }
    log('done', {});
  }
})();
