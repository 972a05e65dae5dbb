"""token-refresher's connection reader for Python consumers (boto3).

Reads a connection's access token from its Secrets Manager secret, as the construct's
``grantReadAccessToken`` allows it: ``GetSecretValue`` with ``VersionStage="AWSCURRENT"``
(the IAM condition refuses any other read). Keeps the token in memory until 60 seconds
before it expires, and never returns an expired one. When an API still answers 401, call
``refresh_after_unauthorized``: it re-reads the secret (another consumer may already have
caused a refresh) and, if the version is unchanged, sends the on-demand function the
documented request, ``{"action": "refresh", "connection": ..., "ifVersion": <that version>}``
(schemas/on-demand-request.schema.json), then waits for the new version.

Configuration, as the TypeScript client's: ``TOKEN_REFRESHER_PREFIX`` and
``TOKEN_REFRESHER_FUNCTION``, which the construct's ``bindConsumer`` sets on a Lambda
function. The record format is docs/connection-record.md (schemas/connection-record.schema.json).

    from token_refresher_reader import TokenReader

    tokens = TokenReader()
    token = tokens.get_access_token("askara-prod")
    response = call_api(token.access_token)
    if response.status == 401:
        token = tokens.refresh_after_unauthorized("askara-prod", token)
        response = call_api(token.access_token)  # once; a second 401 is the API's answer
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Optional

DEFAULT_PREFIX = "token-refresher/"
READABLE_SCHEMA_VERSIONS = (1, 2)


class TokenRefresherError(Exception):
    """Base of every error this reader raises; the message says what to do."""


class ConnectionNotFoundError(TokenRefresherError):
    pass


class ReauthRequiredError(TokenRefresherError):
    pass


class ConnectionDisabledError(TokenRefresherError):
    pass


class InvalidConnectionRecordError(TokenRefresherError):
    pass


class RefreshFailedError(TokenRefresherError):
    pass


class RefresherBusyError(TokenRefresherError):
    pass


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    token_type: str
    expires_at: float
    """Epoch seconds."""
    version_id: str


class TokenReader:
    def __init__(
        self,
        prefix: Optional[str] = None,
        refresher_function: Optional[str] = None,
        secrets_client: Any = None,
        lambda_client: Any = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        skew_seconds: float = 60,
        max_wait_seconds: float = 10,
    ) -> None:
        self.prefix = prefix or os.environ.get("TOKEN_REFRESHER_PREFIX") or DEFAULT_PREFIX
        self.refresher_function = refresher_function or os.environ.get("TOKEN_REFRESHER_FUNCTION")
        if secrets_client is None:
            import boto3

            secrets_client = boto3.client("secretsmanager")
        self._secrets = secrets_client
        self._lambda = lambda_client
        self._clock = clock
        self._sleep = sleep
        self._skew = skew_seconds
        self._max_wait = max_wait_seconds
        self._cache: dict[str, AccessToken] = {}

    def get_access_token(self, connection: str) -> AccessToken:
        """A valid token: from memory until `skew_seconds` before expiry, else one read."""
        cached = self._cache.get(connection)
        now = self._clock()
        if cached and now < cached.expires_at - self._skew:
            return cached
        token = self._read_valid(connection)
        if token is None:
            # The secret holds no valid token (the refresher is behind): ask for this version's refresh.
            token = self._renew(connection, self._read(connection)[0])
        return self._remember(connection, token)

    def refresh_after_unauthorized(self, connection: str, rejected: AccessToken) -> AccessToken:
        """After an API answered 401 to `rejected`: a different, valid token (see the module doc)."""
        fresh = self._read_valid(connection)
        if fresh is not None and fresh.version_id != rejected.version_id:
            return self._remember(connection, fresh)
        return self._remember(connection, self._renew(connection, rejected.version_id))

    def _renew(self, connection: str, version_id: str) -> AccessToken:
        if not self.refresher_function:
            raise RefresherBusyError(
                f'connection "{connection}": no refresher function is configured (TOKEN_REFRESHER_FUNCTION)'
            )
        deadline = self._clock() + self._max_wait
        detail = "no answer"
        while self._clock() < deadline:
            answer = self._request_refresh(connection, version_id)
            outcome = answer.get("outcome")
            if outcome == "failed":
                if answer.get("failureClass") == "reauth_required":
                    raise ReauthRequiredError(f'connection "{connection}" needs re-authorization: {answer.get("message")}')
                raise RefreshFailedError(
                    f'connection "{connection}": the refresh failed ({answer.get("failureClass")}): {answer.get("message")}'
                )
            if outcome == "declined":
                if answer.get("reason") == "not_active":
                    self._read(connection)  # raises the status's error
                detail = f"the refresher declined ({answer.get('reason')})"
                break
            detail = "a refresh is still in progress" if outcome == "in_progress" else "the new version is not readable yet"
            fresh = self._wait_for_new_version(connection, version_id, min(deadline, self._clock() + 2))
            if fresh is not None:
                return fresh
        current = self._read_valid(connection)
        if current is not None and current.version_id != version_id:
            return current
        raise RefresherBusyError(f'connection "{connection}": {detail}; try again shortly')

    def _request_refresh(self, connection: str, version_id: str) -> dict:
        if self._lambda is None:
            import boto3

            self._lambda = boto3.client("lambda")
        request = {"action": "refresh", "connection": connection, "ifVersion": version_id}
        result = self._lambda.invoke(FunctionName=self.refresher_function, Payload=json.dumps(request).encode())
        payload = result["Payload"].read()
        if result.get("FunctionError"):
            raise RefreshFailedError(f'connection "{connection}": the on-demand function failed: {payload[:200]!r}')
        return json.loads(payload)

    def _wait_for_new_version(self, connection: str, version_id: str, until: float) -> Optional[AccessToken]:
        pause = 0.05
        while True:
            fresh = self._read_valid(connection)
            if fresh is not None and fresh.version_id != version_id:
                return fresh
            remaining = until - self._clock()
            if remaining <= 0:
                return None
            self._sleep(min(pause, remaining))
            pause = min(pause * 2, 0.5)

    def _read_valid(self, connection: str) -> Optional[AccessToken]:
        version_id, record = self._read(connection)
        access_token = record.get("accessToken")
        if not access_token:
            return None
        expires_at = _epoch_seconds(connection, record.get("expiresAt"))
        if expires_at <= self._clock():
            return None
        return AccessToken(access_token, record.get("tokenType") or "Bearer", expires_at, version_id)

    def _read(self, connection: str) -> tuple[str, dict]:
        secret_id = self.prefix + connection
        try:
            # AWSCURRENT, and only it: the consumer's IAM grant allows no other stage.
            secret = self._secrets.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
        except Exception as error:  # botocore's ClientError, without importing botocore
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code == "ResourceNotFoundException":
                raise ConnectionNotFoundError(
                    f'connection "{connection}": no secret {secret_id} (is TOKEN_REFRESHER_PREFIX right?)'
                ) from None
            raise
        try:
            record = json.loads(secret["SecretString"])
        except (KeyError, ValueError):
            raise InvalidConnectionRecordError(f'connection "{connection}": the secret value is not JSON') from None
        if not isinstance(record, dict) or record.get("schemaVersion") not in READABLE_SCHEMA_VERSIONS:
            raise InvalidConnectionRecordError(f'connection "{connection}": unsupported record schemaVersion')
        status = record.get("status")
        if status == "reauth_required":
            message = (record.get("lastError") or {}).get("message", "")
            raise ReauthRequiredError(f'connection "{connection}" needs re-authorization: {message}')
        if status == "disabled":
            raise ConnectionDisabledError(f'connection "{connection}" is disabled')
        if status != "active":
            raise InvalidConnectionRecordError(f'connection "{connection}": unknown status')
        return secret["VersionId"], record

    def _remember(self, connection: str, token: AccessToken) -> AccessToken:
        self._cache[connection] = token
        return token


def _epoch_seconds(connection: str, value: Any) -> float:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidConnectionRecordError(f'connection "{connection}": expiresAt is missing or not a date') from None
