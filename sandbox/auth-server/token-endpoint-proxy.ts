/**
 * The public face of the auth server fixture: a node:http server in front of the
 * in-process oidc-provider. Everything is relayed to the provider unchanged, except
 * token requests (the form endpoint and the JSON-dialect endpoint), which are
 * recorded, may be hit by an injected fault, and — for the JSON dialect — are
 * translated to a form request first.
 *
 * Presented refresh tokens are kept in memory only and never logged.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { authMethodMismatch, type RegisteredClient } from './client-auth-method.js';
import { jsonRefreshToken, translateJsonTokenRequest } from './json-dialect.js';

/** A fault applied to the next `count` (default 1) token requests, on either endpoint. */
export type Fault =
  /** Answer with `status` without forwarding: the refresh token is not consumed. */
  | {
      kind: 'status';
      status: number;
      retryAfter?: string;
      body?: string;
      contentType?: string;
      count?: number;
    }
  /** Answer with an arbitrary body without forwarding (e.g. HTML 200, JSON 200 without tokens). */
  | { kind: 'raw'; status: number; body: string; contentType: string; count?: number }
  /** Forward (a valid refresh rotates the token), then destroy the client socket without answering. */
  | { kind: 'drop-after-processing'; count?: number }
  /** Forward at once (a valid refresh rotates the token), then hold the answer for `ms`. */
  | { kind: 'delay'; ms: number; count?: number };

/** One refresh token presented to a token endpoint, as the fixture answered it. */
export interface Presentation {
  refreshToken: string;
  /** `form` is the provider's own endpoint, `json` the Askara-dialect one. */
  endpoint: 'form' | 'json';
  /**
   * The status the provider answered when `forwarded` (also for a dropped answer), else
   * the one the fixture answered itself (an injected fault, a refused client auth method).
   */
  status: number;
  /** Epoch ms the request was received. */
  at: number;
  /** Whether the request reached the provider (which consumed the token if it answered 200). */
  forwarded: boolean;
  /** The injected fault that hit this request, if any. */
  fault?: Fault['kind'];
}

export interface TokenEndpointProxyOptions {
  /** The provider's token endpoint path (form dialect), relayed and observed. */
  tokenPath: string;
  /** The path that speaks the JSON dialect. */
  jsonTokenPath: string;
  clients: readonly RegisteredClient[];
  /** Refuse (401 `invalid_client`) credentials sent other than the client's registered way. */
  enforceClientAuthMethod: boolean;
}

export interface TokenEndpointProxy {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** Points the proxy at the provider's port; call before the first request. */
  connect(upstreamPort: number): void;
  presentations(): Presentation[];
  injectFault(fault: Fault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Headers that describe one connection, never relayed by a proxy. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);
/** What the JSON dialect relays from the provider's answer. */
const JSON_DIALECT_HEADERS = ['content-type', 'cache-control', 'pragma', 'www-authenticate', 'retry-after'];

/** Starts the proxy on a free loopback port (port 0, so there is no race for it). */
export async function startTokenEndpointProxy(
  options: TokenEndpointProxyOptions,
): Promise<TokenEndpointProxy> {
  let upstreamPort: number | undefined;
  const faults: { fault: Fault; remaining: number }[] = [];
  /** In receipt order; `status` is filled in once the answer is known. */
  const log: (Omit<Presentation, 'status'> & { status?: number })[] = [];
  const stopping = new AbortController();

  const takeFault = (): Fault | undefined => {
    const next = faults[0];
    if (!next) return undefined;
    next.remaining -= 1;
    if (next.remaining <= 0) faults.shift();
    return next.fault;
  };

  const forward = (method: string, path: string, headers: Record<string, string>, body: Buffer) => {
    if (upstreamPort === undefined) throw new Error('token endpoint proxy is not connected to the provider');
    return relay(upstreamPort, method, path, headers, body);
  };

  async function handleToken(req: IncomingMessage, res: ServerResponse, endpoint: 'form' | 'json') {
    const at = Date.now();
    const body = await readBody(req);
    const refreshToken = endpoint === 'json' ? jsonRefreshToken(body) : formRefreshToken(req.headers, body);
    const fault = takeFault();
    let entry: (typeof log)[number] | undefined;
    if (refreshToken) {
      entry = { refreshToken, endpoint, at, forwarded: false, fault: fault?.kind };
      log.push(entry);
    }

    const answer = await answerTokenRequest(req, body, endpoint, fault);
    if (entry) {
      entry.forwarded = answer.forwarded;
      entry.status = answer.status;
    }

    if (answer.forwarded && fault?.kind === 'drop-after-processing') {
      res.socket?.destroy();
      return;
    }
    if (answer.forwarded && fault?.kind === 'delay') {
      await sleep(fault.ms, undefined, { signal: stopping.signal }).catch(() => {});
    }
    const relayed = endpoint === 'json' && answer.forwarded ? pickHeaders(JSON_DIALECT_HEADERS) : allHeaders;
    send(res, answer, relayed);
  }

  /** The answer to a token request: injected, refused here, or the provider's. */
  async function answerTokenRequest(
    req: IncomingMessage,
    body: Buffer,
    endpoint: 'form' | 'json',
    fault: Fault | undefined,
  ): Promise<Answer & { forwarded: boolean }> {
    if (fault?.kind === 'status' || fault?.kind === 'raw') {
      return { ...syntheticAnswer(fault), forwarded: false };
    }

    let headers: Record<string, string>;
    let form: Buffer;
    if (endpoint === 'json') {
      const translated = translateJsonTokenRequest(req.headers, body, options.clients);
      if (!translated.ok) {
        const error = { error: translated.error, error_description: translated.description };
        return { ...jsonAnswer(400, error), forwarded: false };
      }
      headers = { ...translated.headers, host: req.headers.host ?? '' };
      form = Buffer.from(translated.body);
    } else {
      headers = relayableHeaders(req.headers);
      form = body;
    }

    if (options.enforceClientAuthMethod) {
      const params = new URLSearchParams(form.toString('utf8'));
      const failure = authMethodMismatch(headers, params, options.clients, origin);
      if (failure) return { ...failure, body: Buffer.from(failure.body), forwarded: false };
    }
    return { ...(await forward('POST', options.tokenPath, headers, form)), forwarded: true };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'POST' && path === options.tokenPath) return handleToken(req, res, 'form');
    if (req.method === 'POST' && path === options.jsonTokenPath) return handleToken(req, res, 'json');
    const body = await readBody(req);
    const answer = await forward(req.method ?? 'GET', req.url ?? '/', relayableHeaders(req.headers), body);
    send(res, answer, allHeaders);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // The provider is unreachable or the client went away; never echo request data.
      if (!res.headersSent && !res.destroyed) {
        send(res, jsonAnswer(502, { error: 'bad_gateway' }), allHeaders);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    connect(port) {
      upstreamPort = port;
    },
    presentations: () => log.filter((e): e is Presentation => e.status !== undefined).map((e) => ({ ...e })),
    injectFault(fault) {
      faults.push({ fault, remaining: fault.count ?? 1 });
    },
    clearFaults() {
      faults.length = 0;
    },
    close() {
      stopping.abort();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function formRefreshToken(headers: IncomingHttpHeaders, body: Buffer): string | undefined {
  const isForm = headers['content-type']?.toLowerCase().startsWith('application/x-www-form-urlencoded');
  if (!isForm) return undefined;
  return new URLSearchParams(body.toString('utf8')).get('refresh_token') ?? undefined;
}

function syntheticAnswer(fault: Extract<Fault, { kind: 'status' | 'raw' }>): Answer {
  const headers: IncomingHttpHeaders = {
    'content-type': fault.contentType ?? 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
  };
  if (fault.kind === 'status' && fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
  const body = fault.body ?? STATUS_CODES[fault.status] ?? '';
  return { status: fault.status, headers, body: Buffer.from(body) };
}

function jsonAnswer(status: number, body: object): Answer {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: Buffer.from(JSON.stringify(body)),
  };
}

function relayableHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

type HeaderFilter = (name: string) => boolean;
const allHeaders: HeaderFilter = (name) => !HOP_BY_HOP.has(name);
const pickHeaders =
  (names: string[]): HeaderFilter =>
  (name) =>
    names.includes(name);

function send(res: ServerResponse, answer: Answer, relay: HeaderFilter): void {
  if (res.destroyed) return;
  res.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value !== undefined && relay(name)) res.setHeader(name, value);
  }
  res.end(answer.body);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** One request to the provider on a fresh connection, answer read in full. */
function relay(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const upstream = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: { ...headers, 'content-length': String(body.length), connection: 'close' },
      },
      (response) => {
        readBody(response).then(
          (data) => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: data }),
          reject,
        );
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}
