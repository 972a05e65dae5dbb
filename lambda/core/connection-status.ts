/**
 * A connection's status, as its record stores it. Its own module so that code reading only
 * statuses (the scheduling hint, on every run) does not load the record's schemas.
 */
export const CONNECTION_STATUSES = ['active', 'reauth_required', 'disabled'] as const;

export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export function isConnectionStatus(value: unknown): value is ConnectionStatus {
  return (CONNECTION_STATUSES as readonly unknown[]).includes(value);
}
