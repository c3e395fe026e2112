#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI lives in the esbuild bundle (npm run build).
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(`xai-lens: ${cli} is missing; run "npm run build" first.\n`);
  process.exit(2);
}
require(cli).runFromCommandLine();
