#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy -c key=value ...`. Every context key and
 * its default is in docs/deploy.md. Synthesis runs cdk-nag's AwsSolutions checks; a
 * finding that is not acknowledged (with a reason) fails it.
 */
import { SettingsError } from '../lib/settings.js';
import { buildApp } from '../lib/token-refresher-stack.js';

try {
  buildApp();
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  // A bad setting: its message names it and the rule; a stack trace would only hide that.
  console.error(error.message);
  process.exit(1);
}
