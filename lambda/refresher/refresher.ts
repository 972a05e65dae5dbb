import type { ConnectResponse, OnDemandResponse } from '../contract/on-demand.js';
import type { RefresherConfig } from '../contract/refresher-environment.js';
import { Budget } from '../core/budget.js';
import { type RunSummary, runRefresh } from '../core/run-refresh.js';
import { composeEngine, type RefresherPorts, withMetricsFlush } from './composition.js';
import { parseEvent } from './events.js';
import { toOnDemandResponse } from './on-demand.js';

export type { RefresherPorts } from './composition.js';

export interface InvocationContext {
  awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/** Handles one invocation: parses the event, composes the engine, runs it, flushes metrics. */
export async function handleInvocation(
  ports: RefresherPorts,
  config: RefresherConfig,
  event: unknown,
  context: InvocationContext,
): Promise<RunSummary | OnDemandResponse | ConnectResponse> {
  ports.logger.forgetSecrets();
  const request = await parseEvent(event);
  if (config.onDemandOnly) {
    if (request.action === 'connect' || request.action === 'import') {
      throw new Error(
        'this function serves consumers and does not accept connect or import; operators use the refresher function',
      );
    }
    if (request.force) {
      throw new Error(
        'this function serves consumers and does not accept force; operators use the refresher function',
      );
    }
    if (request.action === 'run') throw new Error('this function serves on-demand refresh requests only');
    if (request.ifVersion === undefined) {
      throw new Error(
        'this function serves consumers: a refresh request must name the version it saw (ifVersion)',
      );
    }
  }
  const engine = composeEngine(ports, config, context.awsRequestId);
  const budget = Budget.fromRemaining(ports.clock, context.getRemainingTimeInMillis());
  return withMetricsFlush(ports, async () => {
    switch (request.action) {
      case 'connect':
      case 'import': {
        // An operator's connect or import (lambda/core/connect-connection.ts). This path and
        // the refresh path load on first use (chunks of their own, lib/handler-code.ts).
        const { handleConnect } = await import('./connect.js');
        return handleConnect(engine, ports.codeEndpoint, request, budget);
      }
      case 'refresh': {
        const { refreshConnection } = await import('../core/refresh-connection.js');
        return toOnDemandResponse(
          await refreshConnection(engine, {
            connection: request.connection,
            budget,
            force: request.force,
            ifVersionId: request.ifVersion,
          }),
        );
      }
      case 'run':
        return runRefresh(engine, { budget, force: request.force, connections: request.connections });
    }
  });
}
