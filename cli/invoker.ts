import { randomUUID } from 'node:crypto';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { ConnectResponse, OnDemandResponse } from '../lambda/contract/on-demand.js';
import type { RefresherConfig } from '../lambda/contract/refresher-environment.js';
import type { RunSummary } from '../lambda/core/run-refresh.js';
import { handleInvocation, type RefresherPorts } from '../lambda/refresher/refresher.js';
import type { Deployment } from './deployment.js';
import { CliError } from './errors.js';
import type { OutputStream } from './io.js';
import { type DeploymentRefresherOptions, deploymentRefresher, lineLogger } from './refresher-ports.js';

export type RefresherResponse = RunSummary | OnDemandResponse | ConnectResponse;

/** How the CLI asks the refresher to act (connect, import, refresh): secrets stay on its side. */
export interface RefresherInvoker {
  /** `lambda`: a synchronous invoke in AWS; `local`: the refresher's code in this process. */
  readonly kind: 'lambda' | 'local';
  invoke(event: Record<string, unknown>): Promise<RefresherResponse>;
}

/**
 * In AWS: a synchronous (`RequestResponse`) invoke of the stack's `FunctionName`. The
 * function has reserved concurrency 1, so a scheduled run in progress throttles the
 * invoke; it is retried for up to `busyWaitMs`.
 */
export class LambdaInvoker implements RefresherInvoker {
  readonly kind = 'lambda';

  constructor(
    private readonly client: LambdaClient,
    private readonly functionName: string,
    private readonly notice: (message: string) => void,
    private readonly busyWaitMs = 90_000,
  ) {}

  async invoke(event: Record<string, unknown>): Promise<RefresherResponse> {
    const deadline = Date.now() + this.busyWaitMs;
    let told = false;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const result = await this.client.send(
          new InvokeCommand({
            FunctionName: this.functionName,
            InvocationType: 'RequestResponse',
            Payload: new TextEncoder().encode(JSON.stringify(event)),
          }),
        );
        const body = result.Payload ? new TextDecoder().decode(result.Payload) : '';
        if (result.FunctionError) throw new CliError(`the refresher function failed: ${functionError(body)}`);
        return JSON.parse(body) as RefresherResponse;
      } catch (error) {
        const name = (error as Error).name;
        if (name === 'ResourceNotFoundException') {
          throw new CliError(`the refresher function "${this.functionName}" was not found`);
        }
        if (name !== 'TooManyRequestsException' || Date.now() > deadline) throw error;
        if (!told) this.notice('the refresher is busy (a scheduled run is in progress); waiting for it');
        told = true;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000 * 2 ** attempt, 8_000)));
      }
    }
  }
}

/** `errorType: errorMessage` of a failed invocation (messages of our code never hold tokens). */
function functionError(body: string): string {
  try {
    const parsed = JSON.parse(body) as { errorType?: unknown; errorMessage?: unknown };
    const type = typeof parsed.errorType === 'string' ? parsed.errorType : 'Error';
    const message = typeof parsed.errorMessage === 'string' ? parsed.errorMessage.split('\n')[0] : '';
    return message ? `${type}: ${message}` : type;
  } catch {
    return 'unknown error';
  }
}

export interface LocalInvokerOptions extends Omit<DeploymentRefresherOptions, 'logger'> {
  /** Where the refresher's JSON log lines go; nowhere by default. */
  log?: (line: string) => void;
  /** The invocation's time budget, as a Lambda timeout would give. @default 60 s */
  timeoutMs?: number;
}

/**
 * Against the local sandbox (moto's Lambda does not run code): the refresher's own
 * `handleInvocation` in this process, on adapters built from the same stack outputs —
 * the sandbox's `AllowedTokenOrigins` included. The sandbox's authorization server speaks
 * plain http on loopback, so this is the one place outside tests that turns the test-only
 * `allowInsecureLoopback` on; a deployed stack never does.
 */
export class LocalInvoker implements RefresherInvoker {
  readonly kind = 'local';
  private invocations = 0;

  constructor(
    private readonly ports: RefresherPorts,
    private readonly config: RefresherConfig,
    private readonly timeoutMs = 60_000,
  ) {}

  static async fromDeployment(
    deployment: Deployment,
    options: LocalInvokerOptions = {},
  ): Promise<LocalInvoker> {
    const { log, timeoutMs, ...rest } = options;
    const { ports, config } = await deploymentRefresher(deployment, {
      ...rest,
      settings: { allowInsecureLoopback: true, ...rest.settings },
      logger: lineLogger(log),
    });
    return new LocalInvoker(ports, config, timeoutMs);
  }

  async invoke(event: Record<string, unknown>): Promise<RefresherResponse> {
    this.invocations += 1;
    const deadline = this.ports.clock.now() + this.timeoutMs;
    return handleInvocation(this.ports, this.config, event, {
      awsRequestId: `local-${this.invocations}-${randomUUID().slice(0, 8)}`,
      getRemainingTimeInMillis: () => deadline - this.ports.clock.now(),
    });
  }
}

/** The invoker for a deployment: in-process for the sandbox, a Lambda invoke in AWS. */
export async function invokerFor(
  deployment: Deployment,
  stderr: OutputStream,
  options: LocalInvokerOptions = {},
): Promise<RefresherInvoker> {
  if (deployment.local) {
    return LocalInvoker.fromDeployment(deployment, {
      ...options,
      log: options.log ?? (deployment.options.verbose ? (line) => stderr.write(`${line}\n`) : undefined),
    });
  }
  const functionName = await deployment.value('FunctionName');
  return new LambdaInvoker(deployment.clients.lambda, functionName, (message) =>
    stderr.write(`${message}\n`),
  );
}
