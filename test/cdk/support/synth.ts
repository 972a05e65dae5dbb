import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { afterAll } from 'vitest';
import { type BuiltApp, buildApp } from '../../../lib/token-refresher-stack.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Skips asset bundling (esbuild) for every stack. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] } as const;

/** The context `npx cdk synth` runs with: cdk.json's. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

export interface Synthesized extends BuiltApp {
  readonly assembly: CloudAssembly;
  readonly template: Template;
  /** The synthesized template as JSON. */
  readonly json: CfnTemplate;
  readonly templatePath: string;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string[];
  Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

/** Cloud assembly directories of the current test file, removed after it. */
const outdirs = new Set<string>();
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
  outdirs.clear();
});

/**
 * Builds and synthesizes the app through the same code path as bin/token-refresher.ts
 * (cdk.json's context, cdk-nag as a validation plugin), with extra context. Bundling is
 * skipped unless `bundle` is set.
 */
export function synth(
  context: Record<string, unknown> = {},
  options: { bundle?: boolean; extend?: (built: BuiltApp) => void } = {},
): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'token-refresher-cdk-'));
  outdirs.add(outdir);
  const built = buildApp({
    context: {
      ...cdkJsonContext(),
      ...(options.bundle ? {} : SKIP_BUNDLING),
      ...context,
    },
    outdir,
  });
  options.extend?.(built);
  const assembly = built.app.synth();
  const artifact = assembly.getStackByName(built.stack.stackName);
  const templatePath = join(assembly.directory, artifact.templateFile);
  const json = JSON.parse(readFileSync(templatePath, 'utf8')) as CfnTemplate;
  return { ...built, assembly, template: Template.fromJSON(json), json, templatePath };
}

/** Resources of one type, by logical id. */
export function resourcesOfType(json: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);
}

/** The single resource of a type whose logical id starts with `prefix`. */
export function logicalIdOf(json: CfnTemplate, type: string, prefix: string): string {
  const matches = resourcesOfType(json, type).filter(([id]) => id.startsWith(prefix));
  if (matches.length !== 1) {
    throw new Error(
      `expected one ${type} starting with ${prefix}, found ${matches.map(([id]) => id).join(', ')}`,
    );
  }
  return matches[0]![0];
}

/** A resource's Properties (throws if the resource is missing). */
export function propertiesOf(json: CfnTemplate, logicalId: string): Record<string, unknown> {
  const resource = json.Resources[logicalId];
  if (resource === undefined) throw new Error(`no resource ${logicalId}`);
  return resource.Properties ?? {};
}

/** The Properties of the one resource of a type (throws unless there is exactly one). */
export function onlyPropertiesOfType(json: CfnTemplate, type: string): Record<string, unknown> {
  const matches = resourcesOfType(json, type);
  if (matches.length !== 1) throw new Error(`expected one ${type}, found ${matches.length}`);
  return matches[0]![1].Properties ?? {};
}
