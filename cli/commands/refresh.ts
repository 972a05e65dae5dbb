import type { OnDemandResponse } from '../../lambda/contract/on-demand.js';
import { describeConnection, requireConnection } from '../connections.js';
import type { Deployment } from '../deployment.js';
import { CliError } from '../errors.js';
import { formatExpiresIn, shortVersion } from '../format.js';
import { invokerFor, type LocalInvokerOptions } from '../invoker.js';
import type { CliIo } from '../io.js';
import { progress } from '../progress.js';

/**
 * Asks the refresher to refresh one connection now if it is due (or whatever its state
 * with `--force`). A forced refresh rotates the refresh token and spends a secret version.
 */
export async function refreshCommand(
  name: string,
  options: { force?: boolean },
  deployment: Deployment,
  io: CliIo,
  invokerOptions: LocalInvokerOptions = {},
): Promise<void> {
  await deployment.checkEnvironment();
  await requireConnection(deployment, name);
  const invoker = await invokerFor(deployment, io.stderr, invokerOptions);
  const spinner = progress(io.stderr, `Refreshing "${name}"…`);
  let response: OnDemandResponse;
  try {
    response = (await invoker.invoke({
      action: 'refresh',
      connection: name,
      ...(options.force ? { force: true } : {}),
    })) as OnDemandResponse;
  } finally {
    spinner.stop();
  }
  const expiry = async () => {
    const hint = (await describeConnection(deployment, name))?.hint;
    return hint?.expiresAt !== undefined
      ? `access token expires in ${formatExpiresIn(hint.expiresAt, Date.now())}`
      : '';
  };
  switch (response.outcome) {
    case 'refreshed':
      io.stdout.write(
        `refreshed "${name}": version ${shortVersion(response.versionId)}, ${await expiry()}\n`,
      );
      return;
    case 'current':
      io.stdout.write(
        `"${name}" changed meanwhile: version ${shortVersion(response.versionId)}, ${await expiry()}\n`,
      );
      return;
    case 'in_progress':
      throw new CliError(`"${name}" is being refreshed by another invocation right now; check again shortly`);
    case 'failed':
      throw new CliError(
        `refreshing "${name}" failed (${response.failureClass ?? 'unknown'}): ${response.message ?? 'no detail'}`,
      );
    case 'declined':
      if (response.reason === 'fresh' || response.reason === 'min_interval') {
        const why =
          response.reason === 'fresh'
            ? 'it is not due'
            : 'it was refreshed less than the minimum interval ago';
        io.stdout.write(`not refreshed: ${why} (${await expiry()}); pass --force to refresh now\n`);
        return;
      }
      if (response.reason === 'not_active') {
        throw new CliError(
          response.recordStatus === 'disabled'
            ? `"${name}" is disabled: token-refresher enable ${name}`
            : `"${name}" needs re-authentication: token-refresher connect ${name}`,
        );
      }
      throw new CliError(`the refresher declined to refresh "${name}" (${response.reason ?? 'no reason'})`);
  }
}
