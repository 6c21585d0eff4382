import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AuthorityError,
  caBundle,
  createCertificateAuthority,
  issueServingCertificate,
  KEY_TYPES,
  keyTypeOf,
  loadCertificateAuthority,
  serviceDnsNames,
  type CertificateAuthority,
  type KeyType,
} from '../certs/authority';
import { writeFileAtomically } from '../certs/files';
import { planCaBundlePatches, writeCaBundlePatches, type PatchedFile } from '../certs/manifests';
import { usageAs } from './program';
import { parseChoice, parseFlags, UsageError } from './usage';

const DEFAULT_MANIFESTS = 'manifests';

export const CERTS_USAGE = `Usage: eviction-guard certs [flags]

Makes a private CA and a serving certificate for the webhook's Service, for clusters without
cert-manager. Writes into --out: ca.crt, ca.key, tls.crt, tls.key (keys mode 0600; every file is
written to a temporary file and renamed, so a watching server never reads half a file).

Run again to renew: an existing CA (ca.crt + ca.key, valid for longer than the new serving
certificate) is kept byte for byte and only tls.crt/tls.key are re-issued, so the webhook's
caBundle stays valid. The serving certificate names <service>.<namespace>.svc (the name the API
server calls), <service>.<namespace>.svc.cluster.local, <service>.<namespace> and <service>.

Flags:
  --service NAME               the webhook's Service (default eviction-guard)
  --namespace NAME             its namespace (default eviction-guard)
  --out DIR                    where the files go (default certs/)
  --days N                     validity of the serving certificate in days (default 365)
  --ca-days N                  validity of a new CA in days (default 3650)
  --key-type rsa|ecdsa         RSA-2048 or ECDSA P-256 keys (default rsa); a kept CA keeps its key
  --force-ca                   make a new CA even if a usable one exists (then update caBundle!)
  --patch-manifests [PATH]     set clientConfig.caBundle of every webhook in every
                               ValidatingWebhookConfiguration in PATH: a YAML file, or a directory
                               whose .yaml/.yml files are searched (default ${DEFAULT_MANIFESTS}/)
  --print-ca-bundle            print the caBundle (base64 of ca.crt) on stdout, and nothing else
  -h, --help                   show this help

Progress goes to stderr, so CA_BUNDLE=$(eviction-guard certs --print-ca-bundle) works in scripts.`;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertsOptions {
  service: string;
  namespace: string;
  outDir: string;
  days: number;
  caDays: number;
  keyType: KeyType;
  forceCa: boolean;
  /** A file or directory of manifests to patch; undefined when not asked. */
  patchManifests?: string;
  printCaBundle: boolean;
}

export function parseCertsOptions(argv: string[]): CertsOptions | 'help' {
  const { values } = parseFlags(
    withDefaultValue(argv, '--patch-manifests', DEFAULT_MANIFESTS),
    {
      service: { type: 'string' },
      namespace: { type: 'string' },
      out: { type: 'string' },
      days: { type: 'string' },
      'ca-days': { type: 'string' },
      'key-type': { type: 'string' },
      'force-ca': { type: 'boolean' },
      'patch-manifests': { type: 'string' },
      'print-ca-bundle': { type: 'boolean' },
    },
    CERTS_USAGE,
  );
  if (values.help) return 'help';

  const service = (values.service ?? 'eviction-guard') as string;
  // A Service name is a DNS-1035 label, a namespace a DNS-1123 label.
  if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(service)) {
    throw new UsageError(`--service must be a Service name (lower-case letters, digits and '-', starting with a letter, at most 63), got "${service}"`, CERTS_USAGE);
  }
  const namespace = (values.namespace ?? 'eviction-guard') as string;
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new UsageError(`--namespace must be a namespace name (lower-case letters, digits and '-', at most 63), got "${namespace}"`, CERTS_USAGE);
  }
  const keyType = parseChoice(values['key-type'], 'rsa', KEY_TYPES, '--key-type', CERTS_USAGE);
  const days = parseDays(values.days as string | undefined, 365, '--days');
  const caDays = parseDays(values['ca-days'] as string | undefined, 3650, '--ca-days');
  if (days > caDays) throw new UsageError(`--days (${days}) cannot exceed --ca-days (${caDays}): the CA must outlive the certificates it signs`, CERTS_USAGE);
  const out = (values.out ?? 'certs') as string;
  if (out === '') throw new UsageError('--out must name a directory', CERTS_USAGE);
  const patchManifests = values['patch-manifests'] as string | undefined;
  if (patchManifests === '') throw new UsageError('--patch-manifests must name a file or directory', CERTS_USAGE);

  return {
    service,
    namespace,
    outDir: path.resolve(out),
    days,
    caDays,
    keyType: keyType as KeyType,
    forceCa: values['force-ca'] === true,
    patchManifests: patchManifests === undefined ? undefined : path.resolve(patchManifests),
    printCaBundle: values['print-ca-bundle'] === true,
  };
}

/** `--flag` with no value (last, or followed by another flag) gets the default value; parseArgs has no optional values. */
function withDefaultValue(argv: string[], flag: string, value: string): string[] {
  const result: string[] = [];
  argv.forEach((argument, index) => {
    result.push(argument);
    const next = argv[index + 1];
    if (argument === flag && (next === undefined || next.startsWith('-'))) result.push(value);
  });
  return result;
}

function parseDays(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const days = Number(value);
  // 100 years: beyond that the number is a typo, and dates leave what X.509 tooling handles well.
  if (!/^\d+$/.test(value) || days < 1 || days > 36_500) {
    throw new UsageError(`${flag} must be a whole number of days from 1 to 36500, got "${value}"`, CERTS_USAGE);
  }
  return days;
}

export interface CertsResult {
  caCreated: boolean;
  files: { caCert: string; caKey: string; cert: string; key: string };
  patched: PatchedFile[];
  caBundle: string;
}

export interface CertsIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** The command: CA (kept or made), serving pair, optional manifest patch. Errors are thrown with a message for the user. */
export function makeCerts(options: CertsOptions, now = new Date(), progress: (line: string) => void = () => {}): CertsResult {
  const files = {
    caCert: path.join(options.outDir, 'ca.crt'),
    caKey: path.join(options.outDir, 'ca.key'),
    cert: path.join(options.outDir, 'tls.crt'),
    key: path.join(options.outDir, 'tls.key'),
  };
  // Everything is worked out in memory first, so that a problem (a bad manifest, say) leaves no file changed.
  const existing = options.forceCa ? undefined : readExistingAuthority(files, options.days, now);
  const created = existing === undefined ? createCertificateAuthority({ keyType: options.keyType, days: options.caDays, now }) : undefined;
  const ca: CertificateAuthority = existing ?? created!;
  const dnsNames = serviceDnsNames(options.service, options.namespace);
  const leaf = issueServingCertificate({ ca, dnsNames, keyType: options.keyType, days: options.days, now });
  const bundle = caBundle(ca.certPem);
  const plans = options.patchManifests === undefined ? [] : planCaBundlePatches(options.patchManifests, bundle);

  try {
    mkdirSync(options.outDir, { recursive: true });
  } catch (error) {
    throw new Error(`cannot create ${options.outDir}: ${errorMessage(error)}`, { cause: error });
  }

  if (created !== undefined) {
    // Key first: a CA certificate is never on disk without its key.
    writeFileAtomically(files.caKey, created.keyPem, 0o600);
    writeFileAtomically(files.caCert, created.certPem, 0o644);
    progress(
      `made a new CA ${files.caCert} (${options.keyType}, valid until ${new Date(ca.cert.validTo).toISOString()}): ` +
        'webhooks must trust it (caBundle) before they can call a server using the new serving certificate',
    );
  } else {
    progress(`kept the CA ${files.caCert} (${describeKey(ca)}, valid until ${new Date(ca.cert.validTo).toISOString()})`);
  }
  writeFileAtomically(files.key, leaf.keyPem, 0o600);
  writeFileAtomically(files.cert, leaf.certPem, 0o644);
  progress(`issued ${files.cert} for ${dnsNames.join(', ')} (${options.keyType}, ${options.days} days)`);

  const patched = writeCaBundlePatches(plans);
  for (const file of patched) {
    progress(`${file.changed ? 'patched' : 'already current:'} caBundle of ${file.webhooks} webhook(s) in ${file.file}`);
  }
  return { caCreated: created !== undefined, files, patched, caBundle: bundle };
}

/**
 * The CA in the output directory, if there is one to keep. None at all: undefined (make one).
 * Anything unusable is an error rather than silently replaced, because replacing the CA breaks
 * every caBundle that trusts it: --force-ca says that is intended.
 */
function readExistingAuthority(files: CertsResult['files'], days: number, now: Date): CertificateAuthority | undefined {
  const haveCert = existsSync(files.caCert);
  const haveKey = existsSync(files.caKey);
  if (!haveCert && !haveKey) return undefined;
  const advice = 'pass --force-ca to make a new CA (the webhook configuration\'s caBundle must then be updated)';
  if (!haveKey) throw new Error(`found ${files.caCert} but not ${files.caKey}, which is needed to issue certificates: restore it, or ${advice}`);
  if (!haveCert) throw new Error(`found ${files.caKey} but not ${files.caCert}: restore it, or ${advice}`);

  let ca: CertificateAuthority;
  try {
    ca = loadCertificateAuthority(readFileSync(files.caCert), readFileSync(files.caKey), { cert: files.caCert, key: files.caKey });
  } catch (error) {
    if (error instanceof AuthorityError) throw new Error(`cannot use the existing CA: ${error.message}; fix it, or ${advice}`, { cause: error });
    throw new Error(`cannot read the existing CA in ${path.dirname(files.caCert)}: ${errorMessage(error)}`, { cause: error });
  }
  const validFrom = new Date(ca.cert.validFrom);
  const validTo = new Date(ca.cert.validTo);
  if (validFrom.getTime() > now.getTime()) {
    throw new Error(`the CA ${files.caCert} is not valid before ${validFrom.toISOString()} (is the clock right?); ${advice}`);
  }
  const leafNotAfter = new Date(now.getTime() + days * DAY_MS);
  if (validTo.getTime() < leafNotAfter.getTime()) {
    const remainingDays = Math.floor((validTo.getTime() - now.getTime()) / DAY_MS);
    if (validTo.getTime() <= now.getTime()) throw new Error(`the CA ${files.caCert} expired at ${validTo.toISOString()}; ${advice}`);
    throw new Error(
      `the CA ${files.caCert} expires at ${validTo.toISOString()}, before a ${days}-day serving certificate would: ` +
        (remainingDays >= 1 ? `pass --days ${remainingDays} or less, or ${advice}` : advice),
    );
  }
  return ca;
}

function describeKey(ca: CertificateAuthority): string {
  return keyTypeOf(ca.key) ?? `${ca.key.asymmetricKeyType} key`;
}

export function runCerts(argv: string[], io: CertsIo = process): number {
  const options = parseCertsOptions(argv);
  if (options === 'help') {
    io.stdout.write(`${usageAs(CERTS_USAGE)}\n`);
    return 0;
  }
  const result = makeCerts(options, new Date(), (line) => io.stderr.write(`${line}\n`));
  if (options.printCaBundle) io.stdout.write(`${result.caBundle}\n`);
  return 0;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
