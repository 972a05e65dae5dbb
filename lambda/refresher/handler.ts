import type { Context } from 'aws-lambda';
import type { RunSummary } from '../core/run-refresh.js';
import { readConfig } from './environment.js';
import { createPorts, handleInvocation } from './refresher.js';

// Built once per cold start; reused by warm invocations.
const config = readConfig();
const ports = createPorts(config);

/** The scheduled refresher's Lambda entry point. */
export const handler = async (event: unknown, context: Context): Promise<Omit<RunSummary, 'results'>> => {
  const { results: _results, ...summary } = await handleInvocation(ports, config, event, context);
  return summary;
};
