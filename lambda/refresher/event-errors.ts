import { CONNECTION_NAME_RULE } from '../contract/names.js';

/** What a refused event is told (never echoing a value): runs and requests alike. */
export const UNRECOGNISED_EVENT =
  'unrecognised event: expected a scheduled event, {"action":"run","connections"?:[...],"force"?:true} ' +
  'or {"action":"refresh","connection":"...","ifVersion"?:"...","force"?:true} ' +
  "(or an operator's connect / import from token-refresher connect)";

export const INVALID_CONNECTION_NAME = `invalid connection name: a connection name is ${CONNECTION_NAME_RULE}`;
