import type { Command } from 'commander';
import { EXIT } from './errors.js';

/**
 * Each command's examples, shown at the end of its `--help`: the one place they are
 * written (docs/runbook.md's commands are checked against the CLI by a test).
 */
export const EXAMPLES: Record<string, readonly string[]> = {
  connect: [
    'token-refresher connect xero-acme --provider xero --client-id ABC123',
    'token-refresher connect askara-prod --issuer https://auth.askara.ai --client-id my-client --scope "api:read offline_access"',
    'token-refresher connect askara-prod --token-endpoint https://api.askara.ai/oauth/token --refresh-token-stdin < token.txt',
    'token-refresher connect demo --no-browser --json',
  ],
  providers: [
    'token-refresher providers',
    'token-refresher providers xero',
    'token-refresher providers --json',
  ],
  status: [
    'token-refresher status',
    'token-refresher status --watch',
    'token-refresher --stack TokenRefresherDemo status --json',
  ],
  refresh: [
    'token-refresher refresh askara-prod',
    'token-refresher refresh askara-prod --force',
    'token-refresher refresh askara-prod --json',
  ],
  disable: ['token-refresher disable askara-prod', 'token-refresher disable askara-prod --json'],
  enable: [
    'token-refresher enable askara-prod',
    'token-refresher enable askara-prod --force   # an expired token: refresh now, inside the version floor',
  ],
  remove: [
    'token-refresher remove askara-prod',
    'token-refresher remove askara-prod --yes --recovery-window-days 7',
    'token-refresher remove askara-prod --force-delete   # no recovery window: frees the name now',
  ],
  completion: [
    'token-refresher completion bash > /etc/bash_completion.d/token-refresher',
    'token-refresher completion zsh > ~/.zfunc/_token-refresher   # with fpath+=(~/.zfunc) in ~/.zshrc',
    'token-refresher completion fish > ~/.config/fish/completions/token-refresher.fish',
  ],
};

/** The exit codes, as the top-level `--help` lists them. */
export function exitCodesHelp(): string {
  const meaning: Record<keyof typeof EXIT, string> = {
    ok: 'done (a refresh that is not needed yet is done too)',
    failed: 'the action failed',
    usage: 'bad command line (unknown command or option, bad value)',
    not_found: 'no such connection, stack or profile',
    refused:
      'a guard or the connection state refuses it now (the message says which, until when, and the override)',
    pending: 'done in part, the rest follows by itself (e.g. imported, validation pending)',
    not_confirmed: 'not confirmed (answer the question, or pass --yes)',
    environment: 'no AWS region, credentials or reachable endpoint',
  };
  const rows = (Object.keys(EXIT) as (keyof typeof EXIT)[]).map(
    (key) => `  ${String(EXIT[key]).padEnd(3)}${key.padEnd(15)}${meaning[key]}`,
  );
  return `\nExit codes (--json errors carry the name as "code"):\n${rows.join('\n')}\n`;
}

/** Adds `--json` and the command's examples to its help. */
export function documented(
  command: Command,
  jsonHelp = 'one JSON document on stdout (errors: JSON on stderr)',
): Command {
  const name = command.name();
  if (!command.options.some((option) => option.long === '--json')) command.option('--json', jsonHelp);
  const examples = EXAMPLES[name] ?? [];
  if (examples.length > 0) {
    command.addHelpText('after', `\nExamples:\n${examples.map((line) => `  $ ${line}`).join('\n')}\n`);
  }
  return command;
}
