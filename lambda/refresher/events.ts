import { isConnectionName } from '../contract/names.js';
import { INVALID_CONNECTION_NAME, UNRECOGNISED_EVENT } from './event-errors.js';
import type { ConnectRequestEvent, ImportRequestEvent, RefreshRequestEvent } from './requests.js';

/**
 * The refresher's invocation events. A run (an EventBridge scheduled event, or an operator's
 * `{"action":"run"}`) is read here, by hand: every scheduled invocation is one, and reading
 * it should not load a validation library at cold start. Every other action is a request,
 * read by `requests.ts` (zod/mini schemas, the source of schemas/on-demand-request.schema.json),
 * loaded on first use.
 */

/** An operator's run: every connection (or the named ones), optionally forced. */
export interface RunRequest {
  action: 'run';
  force?: boolean;
  connections?: string[];
}

export type RefresherEvent = RunRequest | RefreshRequestEvent | ConnectRequestEvent | ImportRequestEvent;

/** The most connections one run may name. */
export const MAX_NAMED_CONNECTIONS = 1000;

export async function parseEvent(event: unknown): Promise<RefresherEvent> {
  const run = parseRunEvent(event);
  if (run !== undefined) return run;
  return (await import('./requests.js')).parseRequest(event);
}

/**
 * The run an event asks for; undefined when it is a request (it names another action).
 * Throws, never echoing a value, when it is neither: a malformed run, or not an object.
 */
export function parseRunEvent(event: unknown): RunRequest | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    throw new Error(UNRECOGNISED_EVENT);
  const fields = event as Record<string, unknown>;
  if (!('action' in fields)) {
    // A scheduled event (EventBridge rule) is a run over everything.
    if (fields['detail-type'] === 'Scheduled Event') return { action: 'run' };
    throw new Error(UNRECOGNISED_EVENT);
  }
  if (fields.action !== 'run') return undefined;
  const { force, connections } = fields;
  if (force !== undefined && typeof force !== 'boolean') throw new Error(UNRECOGNISED_EVENT);
  if (connections === undefined) return { action: 'run', ...(force !== undefined ? { force } : {}) };
  if (!Array.isArray(connections) || connections.length < 1 || connections.length > MAX_NAMED_CONNECTIONS) {
    throw new Error(UNRECOGNISED_EVENT);
  }
  if (!connections.every((name) => typeof name === 'string' && isConnectionName(name))) {
    throw new Error(INVALID_CONNECTION_NAME);
  }
  return { action: 'run', ...(force !== undefined ? { force } : {}), connections: [...connections] };
}
