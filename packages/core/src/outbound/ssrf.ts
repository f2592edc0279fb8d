/**
 * Guards against server-side request forgery: outbound targets configured by users
 * (webhook endpoints) must be http(s) URLs whose host resolves only to public
 * addresses. Every resolved address is checked, at registration and again at send
 * time (the `lookup` given to the HTTP agent), so a DNS answer that changes later
 * (rebinding) cannot reach a private network either.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { PlinthError } from '../errors.js';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001:db8::', 32], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) blocked.addSubnet(net, prefix, 'ipv6');

/** True for loopback, private, link-local, carrier-grade NAT, multicast, documentation and other non-public addresses. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return blocked.check(mapped[1]!, 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return true; // not an address at all: refuse
}

const refused = (message: string, details: Record<string, unknown> = {}) => new PlinthError('webhooks.url_not_allowed', message, { status: 422, details });

/** Checks a URL's form: http(s), no credentials, a host. Answers the parsed URL. */
export function parseTargetUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refused('The URL is not valid');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refused('The URL must use http or https');
  if (url.username || url.password) throw refused('The URL must not carry credentials');
  if (!url.hostname) throw refused('The URL has no host');
  return url;
}

function lookupAll(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));
}

/** Resolves `url`'s host and answers its addresses; refuses when any of them is private (unless `allowPrivate`). */
export async function resolvePublicAddresses(url: URL, allowPrivate: boolean): Promise<string[]> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookupAll(host)).map((a) => a.address);
    } catch {
      throw refused(`The host ${host} does not resolve`, { host });
    }
  }
  if (!addresses.length) throw refused(`The host ${host} does not resolve`, { host });
  if (!allowPrivate && addresses.some(isPrivateAddress)) {
    throw refused(`The host ${host} resolves to a private, loopback or link-local address`, { host });
  }
  return addresses;
}

/** `parseTargetUrl` then `resolvePublicAddresses`: the check made when an endpoint is registered. */
export async function assertPublicUrl(value: string, allowPrivate: boolean): Promise<URL> {
  const url = parseTargetUrl(value);
  await resolvePublicAddresses(url, allowPrivate);
  return url;
}

/**
 * A `lookup` for sockets (undici's `connect.lookup`) that resolves like `dns.lookup`
 * but fails when any address of the host is private: checked on every connection.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
      if (error) return callback(error);
      if (!allowPrivate && (!addresses.length || addresses.some((a) => isPrivateAddress(a.address)))) {
        return callback(Object.assign(new Error(`${hostname} resolves to a private address; refused`), { code: 'EPRIVATEADDRESS' }));
      }
      if (options?.all) return callback(null, addresses);
      const first = addresses[0]!;
      return callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}
