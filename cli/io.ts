import { createInterface } from 'node:readline';

/** Where the CLI reads and writes; tests pass their own to capture everything. */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface InputStream extends AsyncIterable<Buffer | string> {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
  /** Opens the system browser on `url`; rejects when there is none. */
  openBrowser(url: string): Promise<void>;
  /** Asks a yes/no question on the terminal; false unless the answer is yes. */
  confirm(question: string): Promise<boolean>;
  /** Reads a secret line from a terminal without echoing it. */
  readHidden(prompt: string): Promise<string>;
}

/** The process's streams, the `open` package for the browser, readline for questions. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    async openBrowser(url) {
      const { default: open } = await import('open');
      const child = await open(url);
      await new Promise<void>((resolve, reject) => {
        child.once('error', reject);
        // `open` resolves once the opener is spawned; give a missing opener a moment to fail.
        setTimeout(resolve, 300).unref();
      });
    },
    async confirm(question) {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
    readHidden: (prompt) => readHiddenLine(process.stdin, process.stderr, prompt),
  };
}

/** Reads one line from a terminal in raw mode, echoing nothing. Ctrl-C aborts. */
export function readHiddenLine(
  stdin: NodeJS.ReadStream,
  prompt: OutputStream,
  text: string,
): Promise<string> {
  prompt.write(text);
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish(() => resolve(value));
        if (char === '\u0003') return finish(() => reject(new Error('interrupted')));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    const finish = (done: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      prompt.write('\n');
      done();
    };
    stdin.on('data', onData);
  });
}
