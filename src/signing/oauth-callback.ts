import type { Key } from '../config.js';
import { signToken } from './signed-token.js';

/** How long Cyclr's redirect back to us stays acceptable after a sign-in token was minted. */
const CALLBACK_STATE_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Where Cyclr redirects the browser when no callbackMessage is given: our callback, with a signed state naming the
 * workflow and the consent link it was started from (the gateway refuses it once that link is replaced). Also used
 * by the gateway when a popup-flow link has to fall back to a full-page redirect.
 */
export function oauthCallbackUrl(
  publicBaseUrl: string,
  workflowId: string,
  linkId: string | undefined,
  keys: readonly Key[],
): string {
  const state = signToken(
    'callback',
    { wf: workflowId, ...(linkId !== undefined ? { lid: linkId } : {}), exp: Date.now() + CALLBACK_STATE_TTL_MS },
    keys,
  );
  return `${publicBaseUrl}/oauth/callback?state=${encodeURIComponent(state)}`;
}
