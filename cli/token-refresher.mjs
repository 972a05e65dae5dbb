#!/usr/bin/env node
// The `token-refresher` bin. In this repository, where the TypeScript source is beside it, it
// registers tsx (a devDependency) and runs cli/index.ts: what you run is the code you edit.
// In the published package, which ships no source, it runs the bundle the build made
// (dist/cli/main.mjs, plain JavaScript): production dependencies only, no tsx.
import { existsSync } from 'node:fs';

const source = new URL('./index.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import('../dist/cli/main.mjs'));
}
process.exitCode = await main(process.argv.slice(2));
