import { execFileSync } from 'node:child_process';
import { type Browser, chromium } from 'playwright-core';

/**
 * A real browser for the authorization code flow: Debian's `chromium` (installed by
 * `.ci/run`), headless, driven by `playwright-core`. It opens the authorization URL, signs
 * in and consents on the authorization server's own pages (oidc-provider's, with the auth
 * server's `interactive` option), and follows the redirect to the loopback redirect URI,
 * where the operator CLI is waiting. Requests that would leave the machine are refused.
 */
export interface ChromiumResult {
  /** The text of the page the loopback redirect URI answered (the CLI's own page). */
  callbackPage: string;
  /** The headings of the pages it went through, in order. */
  pages: string[];
}

/** The chromium binary: `CHROMIUM`, or the one on the PATH. */
export function chromiumPath(): string {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim();
    } catch {
      // Try the next name.
    }
  }
  throw new Error('chromium is not installed: apt-get install chromium (.ci/run does), or set CHROMIUM');
}

export async function chromiumAuthorize(
  authorizationUrl: string,
  options: { login?: string; password?: string; timeoutMs?: number } = {},
): Promise<ChromiumResult> {
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      // As root (CI), chromium's sandbox cannot start.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage();
    page.setDefaultTimeout(options.timeoutMs ?? 30_000);
    await page.route(/^(?!http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/])/, (route) => route.abort());
    const pages: string[] = [];
    await page.goto(authorizationUrl, { waitUntil: 'domcontentloaded' });
    // Sign in on the page's own form, then consent, as a person would.
    pages.push((await page.locator('h1').first().textContent())?.trim() ?? '');
    await page.fill('input[name=login]', options.login ?? 'operator');
    await page.fill('input[name=password]', options.password ?? 'any password');
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
      page.click('button[type=submit]'),
    ]);
    pages.push((await page.locator('h1').first().textContent())?.trim() ?? '');
    await Promise.all([
      // The loopback redirect URI, answered with a code (or an error).
      page.waitForURL((url) => url.searchParams.has('code') || url.searchParams.has('error'), {
        waitUntil: 'domcontentloaded',
      }),
      page.click('button[type=submit]'),
    ]);
    return { callbackPage: (await page.locator('body').textContent())?.trim() ?? '', pages };
  } finally {
    await browser?.close();
  }
}
