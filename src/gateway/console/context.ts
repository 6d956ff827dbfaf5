/** What the console's route groups share, made once when the console plugin starts. */
import type { RouteShorthandOptions } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import type { SessionKeys } from './session.js';

export interface ConsoleContext {
  deps: GatewayDeps;
  keys: SessionKeys;
  /** Served over https: cookies are Secure. */
  secure: boolean;
  /** The options of a route that takes a form that writes: its CSRF token is checked first. */
  csrf: RouteShorthandOptions;
}
