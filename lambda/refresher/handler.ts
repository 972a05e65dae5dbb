import type { Context } from 'aws-lambda';
import type { OnDemandResponse } from '../contract/on-demand.js';
import { decodeRefresherEnvironment } from '../contract/refresher-environment.js';
import type { RunSummary } from '../core/run-refresh.js';
import { createPorts } from './composition.js';
import { handleInvocation } from './refresher.js';

// Built once per cold start; reused by warm invocations.
const config = decodeRefresherEnvironment(process.env);
const ports = createPorts(config);

/** The refresher's Lambda entry point: scheduled runs, operator runs, on-demand requests. */
export const handler = async (
  event: unknown,
  context: Context,
): Promise<Omit<RunSummary, 'results'> | OnDemandResponse> => {
  const response = await handleInvocation(ports, config, event, context);
  if (!('results' in response)) return response;
  // The per-connection results stay in the logs; the invocation answers with the counts.
  const { results: _results, ...summary } = response;
  return summary;
};
