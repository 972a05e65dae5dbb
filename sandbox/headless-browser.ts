/**
 * A headless "browser" for the authorization code flow against the auth server fixture
 * with `autoApprove`: it opens the authorization URL, follows every redirect with a
 * cookie jar (oidc-provider keeps the interaction in cookies), and finally requests the
 * loopback redirect URI, where the operator CLI is waiting for the code.
 *
 * Used by the CLI tests and by `npm run demo` in place of the system browser. It never
 * prints anything; the code only passes through the redirect it follows.
 */
export interface HeadlessResult {
  /** The URL the flow ended on (the redirect URI, with `code` and `state`). */
  finalUrl: string;
  /** The status the redirect URI's server answered. */
  status: number;
  /** How many redirects were followed. */
  redirects: number;
}

export async function headlessAuthorize(
  authorizationUrl: string,
  options: { maxRedirects?: number; timeoutMs?: number } = {},
): Promise<HeadlessResult> {
  const maxRedirects = options.maxRedirects ?? 20;
  const signal = AbortSignal.timeout(options.timeoutMs ?? 15_000);
  const authOrigin = new URL(authorizationUrl).origin;
  const jar = new Map<string, string>();
  let url = authorizationUrl;
  for (let redirects = 0; ; redirects += 1) {
    const target = new URL(url);
    const headers: Record<string, string> = { accept: 'text/html' };
    if (target.origin === authOrigin && jar.size > 0) {
      headers.cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    }
    const response = await fetch(target, { redirect: 'manual', headers, signal });
    if (target.origin === authOrigin) {
      for (const cookie of response.headers.getSetCookie()) remember(jar, cookie);
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      if (redirects >= maxRedirects) throw new Error(`more than ${maxRedirects} redirects`);
      url = new URL(location, target).href;
      continue;
    }
    await response.body?.cancel();
    if (target.origin === authOrigin) {
      // The flow stopped at the authorization server: an error page, not a redirect.
      throw new Error(`the authorization server answered HTTP ${response.status} at ${target.pathname}`);
    }
    return { finalUrl: url, status: response.status, redirects };
  }
}

/** Keeps a `Set-Cookie` by name (paths ignored: the jar only talks to one server); drops expired ones. */
function remember(jar: Map<string, string>, setCookie: string): void {
  const [pair = '', ...attributes] = setCookie.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  const expired = attributes.some((attribute) => {
    const [key = '', val = ''] = attribute.split('=');
    const k = key.trim().toLowerCase();
    if (k === 'max-age') return Number(val) <= 0;
    if (k === 'expires') return Date.parse(val) <= Date.now();
    return false;
  });
  if (expired || value === '') jar.delete(name);
  else jar.set(name, value);
}
