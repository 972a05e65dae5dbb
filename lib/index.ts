/**
 * The `token-refresher` package's construct entry (`import { TokenRefresher } from
 * 'token-refresher'`): compiled by scripts/build.ts to CommonJS and ESM with one
 * declaration file, aws-cdk-lib and constructs left to the app (peer dependencies).
 */
export {
  CONNECTION_NAME_PATTERN,
  CONNECTION_NAME_RULE,
  ConsumerEnvironment,
  DEFAULT_CLIENT_CREDENTIALS_PREFIX,
  DEFAULT_CONNECTION_PREFIX,
} from '../lambda/contract/names.js';
export { StackOutput, type StackOutputKey } from '../lambda/contract/stack-outputs.js';
export { ALARM_IDS, type AlarmId } from './alarms.js';
export { type ResolvedSettings, SettingsError, type TokenRefresherProps } from './settings.js';
export { TokenRefresher } from './token-refresher.js';
export { WATCH_RULE_IDS, type WatchRuleId } from './watch.js';
