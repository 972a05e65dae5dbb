/**
 * Errors the consumer library throws. Each says what to do; none carries a token.
 * Catch `TokenClientError` for all of them, or a subclass for one case.
 */
export class TokenClientError extends Error {
  constructor(
    message: string,
    readonly connection: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The connection's secret does not exist (wrong name or prefix, or not deployed). */
export class ConnectionNotFoundError extends TokenClientError {
  constructor(connection: string, secretId: string) {
    super(
      `connection "${connection}" was not found (secret "${secretId}"); check the name and the prefix, or create it with: token-refresher connect ${connection}`,
      connection,
    );
  }
}

/** The provider rejected the refresh token: a human must run the authorization code flow again. */
export class ReauthRequiredError extends TokenClientError {
  constructor(
    connection: string,
    readonly reason?: string,
  ) {
    super(
      `connection "${connection}" needs re-authentication${reason ? ` (${reason})` : ''}: run token-refresher connect ${connection}`,
      connection,
    );
  }
}

/** An operator disabled the connection. */
export class ConnectionDisabledError extends TokenClientError {
  constructor(connection: string) {
    super(
      `connection "${connection}" is disabled; an operator can enable it with: token-refresher enable ${connection}`,
      connection,
    );
  }
}

/** The refresher could not produce a valid token in time (busy, throttled, or refused for now). */
export class RefresherBusyError extends TokenClientError {
  constructor(connection: string, detail: string) {
    super(
      `the refresher did not provide a new token for "${connection}" in time: ${detail}; retry later`,
      connection,
    );
  }
}

/** The refresher tried and failed (the provider is down, misconfigured, ...). */
export class RefreshFailedError extends TokenClientError {
  constructor(
    connection: string,
    readonly failureClass: string,
    detail: string,
  ) {
    super(`refreshing "${connection}" failed (${failureClass}): ${detail}`, connection);
  }
}

/** The secret holds no access token that is still valid, and the refresher could not renew it. */
export class TokenExpiredError extends TokenClientError {
  constructor(connection: string) {
    super(
      `connection "${connection}" has no valid access token; check the refresher's alarms (token-refresher status)`,
      connection,
    );
  }
}

/** The API answered 401 again with a freshly refreshed token: retrying would only loop. */
export class UnauthorizedAfterRefreshError extends TokenClientError {
  constructor(
    connection: string,
    readonly status: number,
  ) {
    super(
      `the API rejected a freshly refreshed token for "${connection}" (HTTP ${status}); ` +
        'check the API URL, the scopes of the grant, and the provider’s status',
      connection,
    );
  }
}

/** The secret's value is not a connection record this library can read. */
export class InvalidConnectionRecordError extends TokenClientError {
  constructor(connection: string, reason: string) {
    super(`connection "${connection}" has an unreadable record: ${reason}`, connection);
  }
}
