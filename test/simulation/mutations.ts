import type { StructuredLogger } from '../../lambda/adapters/structured-logger.js';
import type { OnDemandResponse } from '../../lambda/contract/on-demand.js';
import type {
  LeaseState,
  LeaseStore,
  Metrics,
  SecretStore,
  TokenEndpoint,
  TokenEndpointOutcome,
} from '../../lambda/core/ports.js';
import { REAUTH_REPORTED, REAUTH_REPORTED_LATE } from '../../lambda/core/reauth-report.js';
import type { RefresherPorts } from '../../lambda/refresher/refresher.js';
import { wrapStore } from '../support/store-wrapper.js';
import { EXFIL_ORIGIN } from './endpoints.js';
import { SIM_PROFILES, simProfile } from './profiles.js';
import type { Mutation } from './simulation.js';

/**
 * Deliberate bugs, each a wrapper around one invocation's ports (or a change to the simulated
 * services, the engine's configuration or the handler's answer), that prove the simulator
 * catches what it claims to (test/simulation/simulation.test.ts, `npm run simulate -- --mutate`).
 * They live here, in test code: nothing in `lambda/` is changed.
 */
export const MUTATIONS = {
  /**
   * After a successful answer, the token request is sent once more with the same refresh
   * token (a naive "confirm" retry): a token whose answer the engine received is re-sent
   * before the new set is committed. Expected: invariant 1.
   */
  'resend-after-answer': {
    name: 'resend-after-answer',
    wrap: (ports) => {
      const inner = ports.tokenEndpoint;
      const tokenEndpoint: TokenEndpoint = {
        refresh: async (request) => {
          const outcome = await inner.refresh(request);
          if (outcome.kind === 'tokens') await inner.refresh(request);
          return outcome;
        },
      };
      return { ...ports, tokenEndpoint };
    },
  },

  /**
   * The lease's conditional write is lost: `acquire` always succeeds and the "sending"
   * mark never refuses, so overlapping invocations refresh one connection at once.
   * Expected: invariant 1 (two refreshes in flight, or a re-sent answered token).
   */
  'no-lease-condition': {
    name: 'no-lease-condition',
    wrap: (ports) => {
      const inner = ports.leases;
      const leases: LeaseStore = {
        acquire: async (connection, lease) => {
          const result = await inner.acquire(connection, lease);
          return result.acquired ? result : { acquired: true, previous: result.holder };
        },
        markSending: async (...args) => {
          await inner.markSending(...args).catch(() => undefined);
        },
        release: (...args) => inner.release(...args),
        storeRescue: (...args) => inner.storeRescue(...args),
        get: (connection) => inner.get(connection),
      };
      return { ...ports, leases };
    },
  },

  /**
   * A random `ClientRequestToken` instead of the one derived from the replaced version: a
   * stale writer's commit is no longer refused once another writer moved the secret on.
   * Expected: invariant 5 (a connection marked reauth_required is brought back to life by a
   * late write of a revoked grant, which is then refreshed again), seen with delayed writes.
   */
  'random-client-request-token': {
    name: 'random-client-request-token',
    wrap: (ports, { rng }) => {
      const inner = ports.store;
      const store: SecretStore = {
        list: (prefix) => inner.list(prefix),
        getCurrent: (secretId) => inner.getCurrent(secretId),
        putVersion: (secretId, value) => {
          const h = rng.hex(32);
          const token = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
          return inner.putVersion(secretId, value, token);
        },
        setHint: (secretId, hint) => inner.setHint(secretId, hint),
        versionExists: (secretId, versionId) => inner.versionExists(secretId, versionId),
      };
      return { ...ports, store };
    },
  },

  /**
   * The rescue write is acknowledged but not stored (a lease store that swallows the
   * write). A token set whose commit failed is then nowhere. Expected: invariant 3.
   */
  'rescue-not-stored': {
    name: 'rescue-not-stored',
    wrap: (ports) => ({ ...ports, leases: { ...bind(ports.leases), storeRescue: async () => undefined } }),
  },

  /**
   * The old lease adapter: acquiring removes the spent-token marker from the item (`REMOVE
   * #outcome, #sent`), though it still returns the previous state with it. A holder that
   * finds an `unsaved` marker refuses the token, but if its status commit fails, its
   * release (it sent nothing) leaves no marker, and the third holder sends the spent token.
   * Expected: invariant 1 (a token presented again after the engine received its answer).
   */
  'erase-marker-on-acquire': {
    name: 'erase-marker-on-acquire',
    wrap: (ports) => ports,
    setUp: ({ leases }) => {
      leases.eraseMarkerOnAcquire = true;
    },
  },

  /**
   * The engine no longer knows a read is stale: acquisition hides the last commit, and a
   * marker whose send was committed (both say "AWSCURRENT has moved past this version").
   * A holder served the replaced version then takes it for AWSCURRENT and sends its
   * refresh token, which the provider already answered. Expected: invariant 1 (or 5, when
   * the replacing commit was `reauth_required`).
   *
   * Hiding `lastCommit` alone is not observable: every commit that follows a send also
   * leaves that send's marker `committed`, which says "stale" by itself, and the commits
   * without a send (a restore, the operator's reconnect) replace a version whose marker
   * refuses it (`rescued`) or whose record is not active.
   */
  'ignore-stale-rule': {
    name: 'ignore-stale-rule',
    wrap: (ports) => {
      return withPreviousLease(ports, (previous) => {
        delete previous.lastCommit;
        if (previous.sentOutcome === 'committed') {
          delete previous.sentFromVersionId;
          delete previous.sentOutcome;
        }
      });
    },
  },

  /**
   * The token endpoint adapter logs the access token it received, before the engine has
   * registered it with the logger's scrubber. Expected: invariant 6.
   */
  'log-issued-access-token': {
    name: 'log-issued-access-token',
    wrap: (ports) => {
      const inner = ports.tokenEndpoint;
      const tokenEndpoint: TokenEndpoint = {
        refresh: async (request) => {
          const outcome = await inner.refresh(request);
          if (outcome.kind === 'tokens') {
            ports.logger.debug('token response received', { accessToken: outcome.tokens.accessToken });
          }
          return outcome;
        },
      };
      return { ...ports, tokenEndpoint };
    },
  },

  /**
   * The adapter reads `expires_in` one minute too long (e.g. adds a margin the wrong way):
   * records claim an expiry after the provider's. Expected: invariant 2.
   */
  'expires-in-plus-a-minute': {
    name: 'expires-in-plus-a-minute',
    wrap: (ports) => {
      return withRefreshOutcome(ports, (outcome) =>
        outcome.kind !== 'tokens'
          ? outcome
          : { ...outcome, tokens: { ...outcome.tokens, expiresIn: outcome.tokens.expiresIn + 60 } },
      );
    },
  },

  /**
   * The old engine: `ReauthRequired` is emitted when a status commit to `reauth_required` was
   * attempted, whether or not it landed (here: when an attempt fails, once per version, with
   * its report line naming the version the commit would have created). Expected: invariant 7
   * (a metric for a move that never landed), once such a commit fails for good.
   */
  'emit-reauth-on-failed-commit': {
    name: 'emit-reauth-on-failed-commit',
    wrap: (ports) => {
      const inner = ports.store;
      const reported = new Set<string>();
      const store: SecretStore = {
        ...wrapStore(inner, {}),
        putVersion: async (secretId, value, token) => {
          try {
            return await inner.putVersion(secretId, value, token);
          } catch (error) {
            if (value.includes('"status":"reauth_required"') && !reported.has(token)) {
              reported.add(token);
              const connection = (JSON.parse(value) as { connection: string }).connection;
              ports.logger.warn(REAUTH_REPORTED, { connection, versionId: token });
              ports.metrics.add('ReauthRequired', 'Count', 1);
            }
            throw error;
          }
        },
      };
      return { ...ports, store };
    },
  },

  /**
   * The next holder no longer reports a move to `reauth_required` whose own holder did not
   * (it died after the write landed, or lost the answer to it): the late report's metric is
   * dropped. Expected: invariant 7 (a move never reported).
   */
  'no-late-reauth-report': {
    name: 'no-late-reauth-report',
    wrap: (ports) => {
      let dropNext = false;
      const logger = Object.create(ports.logger) as StructuredLogger;
      logger.warn = (message, fields) => {
        if (message === REAUTH_REPORTED_LATE) dropNext = true;
        ports.logger.warn(message, fields);
      };
      const metrics: Metrics = {
        add: (name, unit, value, dimensions) => {
          if (name === 'ReauthRequired' && dropNext) {
            dropNext = false;
            return;
          }
          ports.metrics.add(name, unit, value, dimensions);
        },
        flush: () => ports.metrics.flush(),
      };
      return { ...ports, logger, metrics };
    },
  },

  /**
   * The engine's allow-list check is bypassed (every origin passes `allowedTokenOrigins`): a
   * record edited to name the insider's endpoint, with a credentials secret the insider bound
   * to it, has its refresh token and client secret sent there. Expected: invariant 8.
   */
  'skip-origin-check': {
    name: 'skip-origin-check',
    wrap: (ports) => ports,
    setUp: ({ settings }) => {
      settings.allowedTokenOrigins = [...settings.allowedTokenOrigins, EXFIL_ORIGIN];
    },
  },

  /**
   * The credentials binding is bypassed: every client-credentials secret reads as bound to
   * every origin. A record edited to name another provider's endpoint has its refresh token
   * and its own provider's client secret sent to that provider. Expected: invariant 8.
   */
  'skip-credentials-binding': {
    name: 'skip-credentials-binding',
    wrap: (ports) => {
      const inner = ports.store;
      const store = wrapStore(inner, {
        getCurrent: async (secretId) => {
          const version = await inner.getCurrent(secretId);
          const value = JSON.parse(version.value) as Record<string, unknown>;
          if (!Array.isArray(value.token_endpoint_origins)) return version;
          value.token_endpoint_origins = [...ALL_ORIGINS];
          return { ...version, value: JSON.stringify(value) };
        },
      });
      return { ...ports, store };
    },
  },

  /**
   * The on-demand answer before issue 11: a request naming another version than AWSCURRENT is
   * told the current version and its status (`version_changed` with `versionId` and
   * `recordStatus`). Expected: invariant 9, at the first bogus request for a connection that
   * exists.
   */
  'version-changed-reveals-current': {
    name: 'version-changed-reveals-current',
    wrap: (ports) => ports,
    answer: (response, { current }) => {
      const answer = response as OnDemandResponse;
      if (answer?.outcome !== 'current') return response;
      const version = current(answer.connection);
      if (!version) return response;
      const { status } = JSON.parse(version.value) as { status: string };
      return { ...answer, versionId: version.versionId, recordStatus: status };
    },
  },

  /**
   * The engine's backoff skip is bypassed: acquisition reads every recorded backoff as over
   * (its streak still counts on), and runs ignore the hint's `notBefore`. A connection whose
   * refreshes keep failing is asked again at every run and every consumer's on-demand
   * request. Expected: invariant 10.
   */
  'ignore-backoff': {
    name: 'ignore-backoff',
    wrap: (ports) => {
      const { leases } = withPreviousLease(ports, (previous) => {
        if (previous.backoff) previous.backoff = { ...previous.backoff, nextAttemptAt: 0 };
      });
      const store = wrapStore(ports.store, {
        list: async function* (prefix) {
          for await (const summary of ports.store.list(prefix)) {
            const parts = summary.hint?.split('/');
            if (parts?.length === 7) parts[5] = '-';
            yield parts ? { ...summary, hint: parts.join('/') } : summary;
          }
        },
      });
      return { ...ports, leases, store };
    },
  },

  /**
   * The ambiguous-answer policy before issue 12: the marker's request count is not read (as
   * with an item written before it existed, every uncertain token counts as sent once), so a
   * token whose answer was lost is retried by every run, blindly. Expected: invariant 11 (a
   * third request on a strict provider, or one after a provider's reuse window).
   */
  'blind-ambiguous-retry': {
    name: 'blind-ambiguous-retry',
    wrap: (ports) => {
      return withPreviousLease(ports, (previous) => {
        delete previous.sentAttempts;
      });
    },
  },

  /**
   * The adapter before issue 12: a 2xx whose body carries an OAuth error instead of tokens
   * (GitHub's `error=bad_refresh_token`, Slack's `ok: false`) is an invalid response (read
   * in full, no token in it), not that error. A dead refresh token at those providers then
   * backs off forever instead of moving to reauth_required. Expected: invariant 12.
   */
  'ignore-errors-in-2xx': {
    name: 'ignore-errors-in-2xx',
    wrap: (ports) => {
      return withRefreshOutcome(ports, (outcome) =>
        outcome.kind !== 'oauth_error' || outcome.status < 200 || outcome.status > 299
          ? outcome
          : {
              kind: 'invalid_response',
              status: outcome.status,
              code: 'missing_access_token',
              reason: 'access_token is missing',
              readBody: true,
            },
      );
    },
  },

  /**
   * An absolute refresh-token lifetime counted from the last refresh instead of the grant
   * (the record's `grantedAt` read as its `refreshedAt`): a provider that ends grants a fixed
   * time after the authorization (Spotify: 6 months) and says so in no response is never
   * announced. Expected: invariant 12 (the grant runs out without ConnectionsReauthDueSoon).
   */
  'absolute-lifetime-from-last-refresh': {
    name: 'absolute-lifetime-from-last-refresh',
    wrap: (ports) => {
      const inner = ports.store;
      const store = wrapStore(inner, {
        getCurrent: async (secretId) => {
          const version = await inner.getCurrent(secretId);
          const record = JSON.parse(version.value) as { grantedAt?: string; refreshedAt?: string };
          if (record.grantedAt === undefined || record.refreshedAt === undefined) return version;
          return { ...version, value: JSON.stringify({ ...record, grantedAt: record.refreshedAt }) };
        },
      });
      return { ...ports, store };
    },
  },
} satisfies Record<string, Mutation>;

/** Every origin the simulated deployment knows of (the providers' and the insider's). */
const ALL_ORIGINS = SIM_PROFILES.map(([name]) => new URL(simProfile(name).tokenEndpoint).origin).concat(
  EXFIL_ORIGIN,
);

export type MutationName = keyof typeof MUTATIONS;

/** The ports with `acquire` handing the engine an edited copy of the previous lease. */
function withPreviousLease(ports: RefresherPorts, edit: (previous: LeaseState) => void): RefresherPorts {
  const inner = ports.leases;
  const leases: LeaseStore = {
    ...bind(inner),
    acquire: async (connection, lease) => {
      const result = await inner.acquire(connection, lease);
      if (!result.acquired || !result.previous) return result;
      const previous = { ...result.previous };
      edit(previous);
      return { acquired: true, previous };
    },
  };
  return { ...ports, leases };
}

/** The ports with every token endpoint outcome passed through `map`. */
function withRefreshOutcome(
  ports: RefresherPorts,
  map: (outcome: TokenEndpointOutcome) => TokenEndpointOutcome,
): RefresherPorts {
  const inner = ports.tokenEndpoint;
  const tokenEndpoint: TokenEndpoint = { refresh: async (request) => map(await inner.refresh(request)) };
  return { ...ports, tokenEndpoint };
}

function bind(leases: LeaseStore): LeaseStore {
  return {
    acquire: (...args) => leases.acquire(...args),
    markSending: (...args) => leases.markSending(...args),
    release: (...args) => leases.release(...args),
    storeRescue: (...args) => leases.storeRescue(...args),
    get: (...args) => leases.get(...args),
  };
}
