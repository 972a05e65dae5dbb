import type { TestProject } from 'vitest/node';
import { startMotoServer } from '../../sandbox/moto-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}

/** One moto_server for the whole run; tests isolate themselves by unique names. */
export default async function setup(project: TestProject) {
  const moto = await startMotoServer();
  project.provide('motoEndpoint', moto.endpoint);
  return async () => {
    await moto.stop();
  };
}
