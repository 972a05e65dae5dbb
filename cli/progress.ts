import ora from 'ora';
import type { OutputStream } from './io.js';

export interface Progress {
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

/**
 * A spinner on a terminal (ora); nothing at all otherwise, so that output piped or
 * captured holds only results and one-line errors.
 */
export function progress(stream: OutputStream, text: string): Progress {
  if (!stream.isTTY || process.env.CI) return { succeed() {}, fail() {}, stop() {} };
  const spinner = ora({ text, stream: stream as NodeJS.WritableStream }).start();
  return {
    succeed: (done) => spinner.succeed(done),
    fail: (done) => spinner.fail(done),
    stop: () => spinner.stop(),
  };
}
