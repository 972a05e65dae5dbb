/**
 * `token-refresher`: the operator CLI. Connect an account (the authorization code flow
 * with PKCE, or an imported refresh token), see every connection and the stack's alarms
 * at a glance, refresh, disable, enable and remove connections — without the AWS console.
 *
 * It finds the deployment from the CloudFormation stack's outputs. Against AWS, the
 * refresher's own actions (connect, import, refresh) are a synchronous Lambda invoke, so
 * the client secret and refresh tokens never leave AWS; against the local sandbox
 * (`AWS_ENDPOINT_URL`, or `--local`) the refresher's code runs in this process.
 *
 * No token or secret is ever printed. A failure is one line on stderr (with `--json`, one
 * JSON document `{"error":{"code",...}}`) and a stable exit code (`EXIT` in errors.ts).
 */
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { completionCommand, SHELLS } from './commands/completion.js';
import { connectCommand } from './commands/connect.js';
import { removeCommand, setStatusCommand } from './commands/lifecycle.js';
import { providersCommand } from './commands/providers.js';
import { refreshCommand } from './commands/refresh.js';
import { statusCommand } from './commands/status.js';
import { DEFAULT_STACK_NAME, Deployment, type GlobalOptions } from './deployment.js';
import { CliError, EXIT, toCliError } from './errors.js';
import { documented, exitCodesHelp } from './help.js';
import type { LocalInvokerOptions } from './invoker.js';
import { type CliIo, processIo } from './io.js';

export interface MainOptions {
  io?: Partial<CliIo>;
  /** For the in-process refresher (the demo passes its short windows and a log sink). */
  local?: LocalInvokerOptions;
}

/** Runs the CLI with `argv` (without `node` and the script); resolves to the exit code. */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  // The SDK's notice about Node 20 support would otherwise follow every command.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const io: CliIo = { ...processIo(), ...options.io };
  // `--json` anywhere (before `--`): errors too are JSON, on stderr.
  const end = argv.indexOf('--');
  const json = (end === -1 ? argv : argv.slice(0, end)).includes('--json');
  let usageText = '';
  const program = buildProgram(io, options.local ?? {}, {
    outputError: (text, write) => {
      if (json) usageText += text;
      else write(text);
    },
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version: done. Anything else is the command line's fault: commander has
      // printed its line (and a suggestion), or, with --json, it becomes the JSON error.
      if (error.exitCode === 0) return EXIT.ok;
      const usage = new CliError(
        (usageText || error.message)
          .trim()
          .replace(/^error: /, '')
          .replace(/\n/g, ' '),
        'usage',
        { commanderCode: error.code },
      );
      if (json) io.stderr.write(`${JSON.stringify(usage.toJSON())}\n`);
      return usage.exitCode;
    }
    const failure = toCliError(error);
    io.stderr.write(json ? `${JSON.stringify(failure.toJSON())}\n` : `token-refresher: ${failure.message}\n`);
    return failure.exitCode;
  }
}

function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('must be a positive number');
  return number;
}

function wholeNumber(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number)) throw new InvalidArgumentError('must be a whole number');
  return number;
}

export function buildProgram(
  io: CliIo,
  local: LocalInvokerOptions,
  output: { outputError?: (text: string, write: (text: string) => void) => void } = {},
): Command {
  const program = new Command('token-refresher')
    .description('Operate a token-refresher deployment: connect accounts, watch connections and alarms.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      ...(output.outputError ? { outputError: output.outputError } : {}),
    })
    .showSuggestionAfterError(true)
    .addHelpText('after', exitCodesHelp())
    .option(
      '--stack <name>',
      'the CloudFormation stack to operate',
      process.env.TOKEN_REFRESHER_STACK ?? DEFAULT_STACK_NAME,
    )
    .option('--region <region>', 'AWS region (default: AWS_REGION or the profile)')
    .option('--profile <profile>', 'AWS shared-config profile (default: AWS_PROFILE)')
    .option(
      '--local',
      'run the refresher in this process instead of invoking its Lambda (the default when AWS_ENDPOINT_URL is set)',
    )
    .option('--verbose', "show the in-process refresher's JSON logs on stderr (with --local)")
    .addOption(new Option('--function <name>', 'override the FunctionName output'))
    .addOption(new Option('--prefix <prefix>', 'override the ConnectionPrefix output'))
    .addOption(new Option('--table <name>', 'override the LeaseTableName output'))
    .addOption(
      new Option('--refresh-token-key <arn>', 'override the RefreshTokenKeyArn output (with --local)'),
    )
    .addOption(new Option('--secrets-key <arn>', 'override the SecretsKeyArn output'))
    .addOption(
      new Option('--client-credentials-prefix <prefix>', 'override the ClientCredentialsPrefix output'),
    )
    .addOption(new Option('--alarm-prefix <prefix>', "the stack's alarm-name prefix (default: <stack>-)"));

  const deploymentOf = (command: Command) => new Deployment(command.optsWithGlobals() as GlobalOptions);

  documented(
    program
      .command('connect')
      .description(
        'connect (or reconnect) a connection: the authorization code flow with PKCE in your browser; ' +
          'the refresher exchanges the code, so the client secret never leaves AWS',
      )
      .argument('<name>', 'the connection name (secret <prefix><name>)')
      .option(
        '--provider <profile>',
        'a provider profile (token-refresher providers lists them): fills the endpoints, request style and behaviour',
      )
      .option('--tenant <tenant>', "the profile's tenant (microsoft-entra)")
      .option('--domain <host>', "the profile's domain (okta, auth0, keycloak, salesforce)")
      .option('--realm <realm>', "the profile's realm (keycloak)")
      .option('--server <id>', "the profile's authorization server (okta; default: default)")
      .option(
        '--authorization-param <key=value>',
        'an extra authorization request parameter (repeatable), e.g. audience=https://api.example.com',
        (value: string, previous: string[] = []) => [...previous, value],
      )
      .option(
        '--access-token-lifetime <seconds>',
        'seconds an access token lives when the provider sends no expires_in (e.g. a Salesforce session timeout)',
        wholeNumber,
      )
      .option('--issuer <url>', 'discover the authorization and token endpoints from this issuer')
      .option('--token-endpoint <url>', 'the OAuth 2.0 token endpoint (https)')
      .option('--authorization-endpoint <url>', 'the authorization endpoint (https)')
      .option('--client-id <id>', 'the OAuth client id (for the authorization request)')
      .addOption(
        new Option('--dialect <dialect>', 'token request encoding: form (RFC 6749) or json (Askara)')
          .choices(['form', 'json'])
          .default('form'),
      )
      .addOption(
        new Option('--client-auth <method>', 'client authentication at the token endpoint')
          .choices(['client_secret_basic', 'client_secret_post'])
          .default('client_secret_basic'),
      )
      .option(
        '--client-credentials-secret <id>',
        'secret holding {"client_id","client_secret"} (default: <ClientCredentialsPrefix><name>)',
      )
      .option('--scope <scope>', 'scope to request (include offline_access where the provider needs it)')
      .option(
        '--redirect-uri <uri>',
        'loopback redirect URI; port 0 picks a free one',
        'http://127.0.0.1:0/callback',
      )
      .option('--no-browser', 'do not open a browser; print the authorization URL')
      .option('--timeout <seconds>', 'how long to wait for the browser', positiveNumber, 300)
      .option(
        '--refresh-token-stdin',
        'import an existing refresh token read from standard input (never echoed)',
      )
      .option('--allow-insecure-localhost', 'accept http:// endpoints on localhost (local testing only)')
      .action(async (name: string, opts, command: Command) => {
        const given = new Set(Object.keys(opts).filter((key) => command.getOptionValueSource(key) === 'cli'));
        await connectCommand(name, { ...opts, given }, deploymentOf(command), io, local);
      }),
  );

  documented(
    program
      .command('providers')
      .description(
        'the provider profiles connect --provider uses: rotation, reuse window, lifetimes, quirks handled (no AWS needed)',
      )
      .argument('[name]', 'one profile in detail, with its sources')
      .option('--json', 'machine-readable output (stable: fields are only added)')
      .action((name: string | undefined, opts: { json?: boolean }) => {
        providersCommand(name, opts, io);
      }),
  );

  documented(
    program
      .command('status')
      .description(
        'one row per connection (status, expiry, last refresh, refreshes and secret versions in 24 h, last error) and the alarms',
      )
      .option('--json', 'machine-readable output')
      .option(
        '--watch [seconds]',
        'redraw the table in place every few seconds until Ctrl-C (default 5; with --json, one document per line)',
        positiveNumber,
      )
      .action(async (opts: { json?: boolean; watch?: number | true }, command: Command) => {
        await statusCommand(deploymentOf(command), io, opts);
      }),
  );

  documented(
    program
      .command('refresh')
      .description('refresh a connection now if it is due; --force refreshes it whatever its expiry')
      .argument('<name>', 'the connection name')
      .option(
        '--force',
        'refresh even if not due, within the version floor or backing off (rotates the refresh token, spends a secret version)',
      )
      .option('--json', "machine-readable output: the refresher's answer (exit status as without it)")
      .action(async (name: string, opts: { force?: boolean; json?: boolean }, command: Command) => {
        await refreshCommand(name, opts, deploymentOf(command), io, local);
      }),
  );

  documented(
    program
      .command('disable')
      .description('stop refreshing a connection; consumers get ConnectionDisabledError')
      .argument('<name>', 'the connection name')
      .action(async (name: string, opts: { json?: boolean }, command: Command) => {
        await setStatusCommand(name, 'disabled', deploymentOf(command), io, opts, local);
      }),
  );

  documented(
    program
      .command('enable')
      .description(
        'refresh a disabled connection again; an expired access token is refreshed at once (if a guard holds it back, says until when)',
      )
      .argument('<name>', 'the connection name')
      .option(
        '--force',
        'refresh at once even inside the version floor or minimum interval (spends a secret version)',
      )
      .action(async (name: string, opts: { json?: boolean; force?: boolean }, command: Command) => {
        await setStatusCommand(name, 'active', deploymentOf(command), io, opts, local);
      }),
  );

  documented(
    program
      .command('remove')
      .description("delete a connection's secret (after a recovery window, or at once with --force-delete)")
      .argument('<name>', 'the connection name')
      .option('-y, --yes', 'do not ask for confirmation')
      .option(
        '--recovery-window-days <days>',
        'days Secrets Manager keeps the secret restorable (7-30)',
        wholeNumber,
        30,
      )
      .option(
        '--force-delete',
        'delete at once, with no recovery window (frees the name; asks you to type the name unless --yes); also for a name already removed',
      )
      .action(
        async (
          name: string,
          opts: { yes?: boolean; recoveryWindowDays: number; forceDelete?: boolean; json?: boolean },
          command: Command,
        ) => {
          await removeCommand(name, opts, deploymentOf(command), io);
        },
      ),
  );

  documented(
    program
      .command('completion')
      .description('print a shell completion script (bash, zsh or fish)')
      .argument('<shell>', SHELLS.join(', '))
      .action((shell: string, opts: { json?: boolean }) => {
        completionCommand(shell, program, io, opts);
      }),
  );

  return program;
}

// `node --import tsx cli/index.ts ...` runs it directly; cli/token-refresher.mjs is the bin.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
