/** Consumer baseline: what a Lambda imports to read a secret with Powertools Parameters. */
export { getSecret } from '@aws-lambda-powertools/parameters/secrets';
