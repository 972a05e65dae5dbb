#!/usr/bin/env node
// The `token-refresher` bin: registers tsx (a devDependency, installed by `npm ci` in this
// repository) so the TypeScript CLI runs without a build step, then runs it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./index.ts');
process.exitCode = await main(process.argv.slice(2));
