import { z } from 'zod';

/**
 * What the refresher is asked to do. A scheduled event (EventBridge rule or Scheduler)
 * runs every connection; an operator request names connections and may force.
 */
const runRequestSchema = z.object({
  action: z.literal('run'),
  force: z.boolean().optional(),
  connections: z.array(z.string().min(1)).min(1).optional(),
});

const scheduledEventSchema = z
  .object({ 'detail-type': z.literal('Scheduled Event') })
  .passthrough()
  .transform((): RunRequest => ({ action: 'run' }));

export type RunRequest = z.output<typeof runRequestSchema>;
export const refresherEventSchema = z.union([runRequestSchema, scheduledEventSchema]);
export type RefresherEvent = RunRequest;

export function parseEvent(event: unknown): RefresherEvent {
  const parsed = refresherEventSchema.safeParse(event);
  if (!parsed.success) {
    throw new Error(
      'unrecognised event: expected a scheduled event or {"action":"run","connections"?:[...],"force"?:true}',
    );
  }
  return parsed.data;
}
