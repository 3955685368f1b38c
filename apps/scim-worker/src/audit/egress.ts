import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where audit webhooks may go. A webhook URL is written by whoever manages a ScimTenant, and the worker sends a
 * signed POST from inside the cluster, so without a check any tenant could reach the cluster's own services,
 * the cloud metadata endpoint or the pod network (SSRF). Addresses are checked when the socket connects, on
 * the address actually dialled (a custom `lookup`), so a name that resolves to a public address at validation
 * time and to a private one later (DNS rebinding) is still refused.
 */
export interface EgressSettings {
  /** Allow plain `http://` webhook URLs (audit events then travel in clear). */
  AUDIT_WEBHOOK_ALLOW_HTTP: boolean;
  /** CIDRs allowed even inside the refused ranges, e.g. an in-cluster SIEM collector. */
  AUDIT_WEBHOOK_ALLOWED_CIDRS: readonly string[];
  /** CIDRs refused besides the built-in ones, e.g. a cluster's pod or service range outside private space. */
  AUDIT_WEBHOOK_DENIED_CIDRS: readonly string[];
}

/** Loopback, unspecified, link-local (cloud metadata), private, carrier-grade NAT, multicast and reserved space. */
const REFUSED_RANGES = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/3',
  '::/127',
  '64:ff9b::/96',
  '100::/64',
  '2001:db8::/32',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
];

/** Why a delivery was not even attempted; the dead letter's reason. */
export type EgressRefusal = 'egress_scheme' | 'egress_address';

export class EgressRefusedError extends Error {
  constructor(readonly reason: EgressRefusal) {
    super(
      reason === 'egress_scheme'
        ? 'webhook URL scheme not allowed'
        : 'webhook destination address not allowed',
    );
    this.name = 'EgressRefusedError';
  }
}

export function parseCidr(
  cidr: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address, bits, extra] = cidr.trim().split('/');
  const version = isIP(address ?? '');
  if (!address || !version || extra !== undefined || bits === undefined || !/^\d{1,3}$/.test(bits))
    return undefined;
  const prefix = Number(bits);
  if (prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (!parsed) throw new Error(`not a CIDR: ${cidr}`);
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return list;
}

export class EgressPolicy {
  private readonly refused: BlockList;
  private readonly allowed: BlockList;
  readonly allowHttp: boolean;

  constructor(settings: EgressSettings) {
    this.refused = blockList([...REFUSED_RANGES, ...settings.AUDIT_WEBHOOK_DENIED_CIDRS]);
    this.allowed = blockList(settings.AUDIT_WEBHOOK_ALLOWED_CIDRS);
    this.allowHttp = settings.AUDIT_WEBHOOK_ALLOW_HTTP;
  }

  /** The URL's scheme, and its host when it is an address literal (those never pass through `lookup`). */
  checkUrl(url: URL): EgressRefusal | undefined {
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.allowHttp)) return 'egress_scheme';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !this.allowsAddress(host)) return 'egress_address';
    return undefined;
  }

  allowsAddress(address: string): boolean {
    // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) reaches the IPv4 host: judge that.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const target = mapped ?? address;
    const family = isIP(target) === 4 ? 'ipv4' : 'ipv6';
    if (this.allowed.check(target, family)) return true;
    return !this.refused.check(target, family);
  }

  /** A `lookup` for http(s).request: resolves as usual, and fails the connection if any address is refused. */
  lookup(): LookupFunction {
    return (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error, '', 0);
        if (addresses.length === 0 || addresses.some((a) => !this.allowsAddress(a.address)))
          return callback(new EgressRefusedError('egress_address'), '', 0);
        if (options.all)
          return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        const [first] = addresses as [LookupAddress];
        return callback(null, first.address, first.family);
      });
    };
  }
}

const policies = new WeakMap<EgressSettings, EgressPolicy>();

/** The policy of a worker's settings, built once per settings object. */
export function egressPolicy(settings: EgressSettings): EgressPolicy {
  let policy = policies.get(settings);
  if (!policy) {
    policy = new EgressPolicy(settings);
    policies.set(settings, policy);
  }
  return policy;
}
