// Dev server for the explain panel preview: serves the repository root read-only on 127.0.0.1 so the page's CSP can
// use 'self' where the extension uses ${webview.cspSource}, and serves the fixture as /fixture.js (a script, not a
// fetch: the panel's CSP has no connect-src).  Usage: node webview-ui/dev/serve.mjs [port]   (default 5178)
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const port = Number(process.argv[2] ?? 5178);
const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.map': 'application/json', '.png': 'image/png' };

createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  try {
    if (url.pathname === '/fixture.js') {
      const json = await readFile(join(root, 'webview-ui/dev/fixture.json'), 'utf8');
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(`window.__FIXTURE__ = ${json};`);
      return;
    }
    const path = normalize(join(root, decodeURIComponent(url.pathname === '/' ? '/webview-ui/dev/index.html' : url.pathname)));
    if (!path.startsWith(root)) throw new Error('outside root');
    const body = await readFile(path);
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
}).listen(port, '127.0.0.1', () => console.log(`http://127.0.0.1:${port}/`));
