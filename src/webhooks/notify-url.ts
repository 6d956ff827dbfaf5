/**
 * Where events may be delivered. A notifyUrl is chosen by whoever starts a provisioning, so without a check it would
 * make the worker POST to anything the worker can reach (a metadata service, an admin port on loopback). In
 * production, by default, hosts that resolve to loopback, private, link-local or other non-public addresses are
 * refused, and NOTIFY_URL_ALLOWLIST can narrow delivery to named hosts. Checked at delivery time, on the addresses
 * the connection actually uses, because DNS can change between the request and the event.
 */
import { lookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { NotifyUrlPolicy } from '../config.js';

export class NotifyUrlRefused extends Error {
  readonly code = 'ERR_NOTIFY_URL_REFUSED';
}

/** "hooks.example.com" matches itself; "*.example.com" matches any subdomain of example.com (not example.com). */
export function hostAllowed(host: string, allowedHosts: readonly string[]): boolean {
  if (allowedHosts.length === 0) return true;
  const h = host.toLowerCase().replace(/\.$/, '');
  return allowedHosts.some((pattern) =>
    pattern.startsWith('*.') ? h.endsWith(pattern.slice(1)) && h.length > pattern.length - 1 : h === pattern,
  );
}

/** Ordinary public unicast only: ipaddr.js names every special-purpose range (private, loopback, 6to4, ...). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/** The checks that need no DNS: scheme, allow-list, and an address written into the URL. */
export function checkNotifyUrl(url: string, policy: NotifyUrlPolicy): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new NotifyUrlRefused('notifyUrl is not a URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new NotifyUrlRefused(`notifyUrl must be http(s), not ${parsed.protocol}`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (!hostAllowed(host, policy.allowedHosts)) {
    throw new NotifyUrlRefused(`notifyUrl host ${host} is not in NOTIFY_URL_ALLOWLIST`);
  }
  if (!policy.allowPrivateAddresses && isIP(host) && !isPublicAddress(host)) {
    throw new NotifyUrlRefused(
      `notifyUrl host ${host} is not a public address (NOTIFY_ALLOW_PRIVATE_ADDRESSES=true allows it)`,
    );
  }
  return parsed;
}

/** A dns lookup for the HTTP client that fails rather than connect to a non-public address. */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  const all = (options as LookupAllOptions).all === true;
  lookup(hostname, { ...(options as LookupOneOptions), all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) {
      const error = new NotifyUrlRefused(
        `notifyUrl host ${hostname} resolves to ${refused.address}, not a public address (NOTIFY_ALLOW_PRIVATE_ADDRESSES=true allows it)`,
      );
      return callback(error as NodeJS.ErrnoException, '', 0);
    }
    if (all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};
