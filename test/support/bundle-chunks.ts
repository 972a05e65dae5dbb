import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

/** What a code-split bundle of `entry` loads at import (its entry chunk) and what it holds in all. */
export interface SplitBundle {
  /** The input paths of the entry chunk, one a line. */
  eager: string;
  /** The input paths of every chunk, one a line. */
  everything: string;
  /** The output paths of the chunks holding an input matching `pattern`. */
  chunksWith(pattern: string): string[];
  /** The entry chunk's output path. */
  entryPath: string;
}

/** Bundles `entry` as ESM for Node with code splitting (as a consumer or the Lambda would) and reads the metafile. */
export async function splitBundle(entry: string): Promise<SplitBundle> {
  const outdir = mkdtempSync(join(tmpdir(), 'split-bundle-'));
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      mainFields: ['module', 'main'],
      outdir,
      metafile: true,
      write: true,
      logLevel: 'silent',
    });
    const outputs = Object.entries(result.metafile.outputs);
    const found = outputs.find(([, output]) => output.entryPoint === entry);
    if (!found) throw new Error(`no entry chunk for ${entry}`);
    return {
      eager: Object.keys(found[1].inputs).join('\n'),
      everything: outputs.flatMap(([, output]) => Object.keys(output.inputs)).join('\n'),
      chunksWith: (pattern) =>
        outputs
          .filter(([, output]) => Object.keys(output.inputs).some((i) => i.includes(pattern)))
          .map(([p]) => p),
      entryPath: found[0],
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
