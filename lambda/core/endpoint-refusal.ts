import { MetricName } from '../contract/metric-names.js';
import { type EngineDeps, emit } from './engine.js';
import type { ClientCredentials } from './ports.js';
import { checkCredentialsBinding, checkTokenEndpoint, type OriginCheck } from './token-origin.js';

/** The error line that goes with `EndpointRefused` on the refresh path. */
export const ENDPOINT_REFUSED = 'token endpoint refused: nothing was sent';

/**
 * The refusal of a token endpoint (core/token-origin.ts) as the engine reports it, on every
 * path: one error line naming the connection, the origin and the setting, and the
 * `EndpointRefused` metric (alarmed). The caller sends nothing and fails with class `configuration`.
 */
export function reportEndpointRefusal(
  deps: Pick<EngineDeps, 'metrics' | 'logger'>,
  connection: string,
  message: string,
  options: { log?: boolean } = {},
): void {
  if (options.log !== false) deps.logger.error(ENDPOINT_REFUSED, { connection, reason: message });
  emit(deps, MetricName.EndpointRefused, 'Count', 1);
}

/**
 * Both checks, for a caller that has read the client credentials (but sent and decrypted
 * nothing yet): the allow-list again (cheap, and the binding needs the origin), then the binding.
 */
export function checkEndpointAndBinding(
  deps: Pick<EngineDeps, 'settings'>,
  tokenEndpoint: string,
  credentials: Pick<ClientCredentials, 'tokenEndpointOrigins'>,
  credentialsSecretId: string,
): OriginCheck {
  const allowed = checkTokenEndpoint(tokenEndpoint, deps.settings);
  if (!allowed.ok) return allowed;
  return checkCredentialsBinding(allowed.origin, credentials, credentialsSecretId);
}
