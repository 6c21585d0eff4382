// Validating admission webhooks for the fake API server, as kube-apiserver calls them
// (eviction-semantics.md §6 and §7; k/k staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/).
//
// The configuration is a ValidatingWebhookConfiguration object stored in the fake
// (fake.upsert(...)), read on every request as the API server reads its informer. Each webhook
// entry whose rules, namespaceSelector and objectSelector match is called over HTTPS:
// clientConfig.url, or clientConfig.service resolved through `serviceEndpoints` (the connection
// goes there, and the certificate must be valid for <name>.<namespace>.svc, as the API server
// requires; a Service with several endpoints gets its calls in turn, as kube-proxy spreads the
// API server's connections over a Service's ready endpoints); caBundle is the only trust (an empty one means the system roots); timeoutSeconds
// (default 10) bounds the call; failurePolicy (default Fail) decides what a failed call means.
// A denial is wrapped exactly as ToStatusErr does. A client certificate is presented when
// `clientCertificates` holds one for the webhook, as the kubeconfig of the API server's
// AdmissionConfiguration provides it (docs/security.md).
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import { isIP } from 'node:net';
import type { LabelSelector } from '../src/domain';
import { selectorMatches } from '../src/pdb/selector';
import type { KubeObject } from './fake-apiserver';
import { isObject, type Json, type StatusDetails } from './fake-http';

/** request.userInfo: who the fake says sent the request. */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** admission.Attributes: what is being admitted. */
export interface AdmissionAttributes {
  kind: { group: string; version: string; kind: string };
  resource: GroupVersionResource;
  subResource: string;
  namespace: string;
  name: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  /** The object in the version of `kind`, after defaulting (an Eviction after dry-run propagation). */
  object: Json;
  /** From the ?dryRun= query only (eviction-semantics.md §2.2). */
  dryRun: boolean;
  options: Json;
}

/** A metav1.Status the API server answers with. */
export interface ApiStatus {
  code: number;
  reason: string;
  message: string;
  details?: StatusDetails;
}

export type AdmissionResult = { allowed: true; warnings: string[] } | { allowed: false; status: ApiStatus; warnings: string[] };

/** One webhook call, for tests to inspect: what was sent and how it ended. */
export interface WebhookCall {
  webhook: string;
  url: string;
  /** host:port the call connected to (a service's endpoint); '' when no call was made. */
  endpoint: string;
  review: Json;
  /** The response body, when one came back. */
  response?: Json;
  /** 'allowed', 'denied', or the transport/verification error (as "failed calling webhook …"). */
  outcome: string;
}

interface RuleWithOperations {
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  operations?: string[];
  scope?: string;
}

interface ValidatingWebhook {
  name: string;
  admissionReviewVersions?: string[];
  sideEffects?: string;
  timeoutSeconds?: number;
  failurePolicy?: 'Ignore' | 'Fail';
  rules?: RuleWithOperations[];
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  clientConfig: {
    url?: string;
    service?: { namespace: string; name: string; path?: string; port?: number };
    caBundle?: string;
  };
}

/** Reads what the fake stores. */
export interface AdmissionStore {
  readAll(kind: string, namespace?: string): KubeObject[];
  read(kind: string, namespace: string, name: string): KubeObject | undefined;
}

/** admissionregistration/v1 defaults. */
const DEFAULT_TIMEOUT_SECONDS = 10;
const SUPPORTED_REVIEW_VERSIONS = ['v1', 'v1beta1'];

const matchesAny = (values: string[] | undefined, value: string) => (values ?? []).some((candidate) => candidate === '*' || candidate === value);

// A rule's resources entry names a resource ("pods", "*": no subresources) or resource/subresource
// ("pods/eviction", with "*" allowed on either side).
function ruleMatchesResource(resources: string[] | undefined, resource: string, subResource: string): boolean {
  return (resources ?? []).some((entry) => {
    const [ruleResource, ruleSub] = entry.split('/');
    if (subResource === '') return ruleSub === undefined && (ruleResource === '*' || ruleResource === resource);
    return ruleSub !== undefined && (ruleResource === '*' || ruleResource === resource) && (ruleSub === '*' || ruleSub === subResource);
  });
}

function ruleMatches(rule: RuleWithOperations, attributes: AdmissionAttributes): boolean {
  const scope = rule.scope ?? '*';
  return (
    matchesAny(rule.apiGroups, attributes.resource.group) &&
    matchesAny(rule.apiVersions, attributes.resource.version) &&
    matchesAny(rule.operations, attributes.operation) &&
    ruleMatchesResource(rule.resources, attributes.resource.resource, attributes.subResource) &&
    (scope === '*' || scope === (attributes.namespace === '' ? 'Cluster' : 'Namespaced'))
  );
}

/** ToStatusErr (statuserror.go): how the client sees a webhook's denial. */
export function toStatusErr(attributes: AdmissionAttributes, webhookName: string, result: Json | undefined): ApiStatus {
  const code = typeof result?.code === 'number' && result.code !== 0 ? result.code : 403;
  const message = typeof result?.message === 'string' ? result.message : '';
  const reason = typeof result?.reason === 'string' ? result.reason : '';
  const name = attributes.name === '' ? 'Unknown' : attributes.name;
  const deniedBy = `admission webhook "${webhookName}" denied the request`;
  const explained = message !== '' ? `${deniedBy}: ${message}` : reason !== '' ? `${deniedBy}: ${reason}` : `${deniedBy} without explanation`;
  const { group, resource } = attributes.resource;
  const details: StatusDetails = isObject(result?.details)
    ? (result.details as StatusDetails)
    : code === 500
      ? { causes: [{ message: explained }] }
      : { group, kind: resource, name };
  const prefix = code === 500 ? 'Internal error occurred' : `${group === '' ? resource : `${resource}.${group}`} "${name}" is forbidden`;
  return {
    code,
    reason: reason !== '' ? reason : code === 500 ? 'InternalError' : 'Forbidden',
    message: `${prefix}: ${explained}`,
    details,
  };
}

/** apierrors.NewInternalError(ErrCallingWebhook): a failed call under failurePolicy Fail. */
function callFailureStatus(error: string): ApiStatus {
  return { code: 500, reason: 'InternalError', message: `Internal error occurred: ${error}`, details: { causes: [{ message: error }] } };
}

class CallError extends Error {}

export interface Endpoint {
  host: string;
  port: number;
}

interface WebhookTarget {
  /** As the API server's error messages print it. */
  url: string;
  /** Where the connection goes, and the name the certificate must be valid for. */
  host: string;
  port: number;
  servername: string;
  path: string;
  /** The kubeconfig user whose credentials the API server sends this webhook. */
  kubeconfigUser: string;
}

/** Go's words for what went wrong on the wire, so messages read as the API server's. */
function describeTransportError(error: NodeJS.ErrnoException, target: { host: string; port: number; servername: string }): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${target.host}:${target.port}: connect: connection refused`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: x509: certificate is not valid for ${target.servername}`;
    default:
      return error.message;
  }
}

export class FakeAdmission {
  /** request.userInfo of every request (the fake authenticates one token). */
  user: UserInfo = { username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] };
  /** Where clientConfig.service entries live: "namespace/name" → the addresses of its ready endpoints. */
  readonly serviceEndpoints = new Map<string, readonly Endpoint[]>();
  /** Every webhook call, in the order they ended. */
  readonly calls: WebhookCall[] = [];
  /** Calls made to each service so far: the next one goes to the endpoint after the last. */
  private readonly callsByService = new Map<string, number>();
  /**
   * TLS client certificates to present, by the user name of the AdmissionConfiguration's kubeconfig:
   * a Service's `<name>.<namespace>.svc` (with `:<port>` when not 443), or a URL's host[:port].
   */
  readonly clientCertificates = new Map<string, { cert: string; key: string }>();

  constructor(private readonly store: AdmissionStore) {}

  /**
   * Runs the validating webhooks that match, in parallel as the dispatcher does. The first
   * rejection in configuration order wins (the real dispatcher returns the first to arrive).
   */
  async validate(attributes: AdmissionAttributes): Promise<AdmissionResult> {
    const hooks = this.matchingWebhooks(attributes);
    const results = await Promise.all(hooks.map((hook) => this.callHook(hook, attributes)));
    const warnings = [...new Set(results.flatMap((result) => result.warnings))];
    const rejection = results.find((result) => result.status !== undefined);
    return rejection?.status === undefined ? { allowed: true, warnings } : { allowed: false, status: rejection.status, warnings };
  }

  private matchingWebhooks(attributes: AdmissionAttributes): ValidatingWebhook[] {
    // The API server sorts configurations by name and keeps each one's webhook order.
    const configurations = this.store.readAll('ValidatingWebhookConfiguration').sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const namespace = attributes.namespace === '' ? undefined : this.store.read('Namespace', '', attributes.namespace);
    // Every namespace carries kubernetes.io/metadata.name (set by the API server since 1.21).
    const namespaceLabels = { ...((namespace?.metadata.labels as Record<string, string> | undefined) ?? {}), 'kubernetes.io/metadata.name': attributes.namespace };
    const objectMetadata = isObject(attributes.object.metadata) ? attributes.object.metadata : {};
    const objectLabels = (objectMetadata.labels as Record<string, string> | undefined) ?? {};
    return configurations
      .flatMap((configuration) => (configuration.webhooks as ValidatingWebhook[] | undefined) ?? [])
      .filter(
        (hook) =>
          (hook.rules ?? []).some((rule) => ruleMatches(rule, attributes)) &&
          selectorMatches(hook.namespaceSelector ?? {}, namespaceLabels) &&
          // For pods/eviction this sees the Eviction, which has no labels (#110169).
          selectorMatches(hook.objectSelector ?? {}, objectLabels),
      );
  }

  private async callHook(hook: ValidatingWebhook, attributes: AdmissionAttributes): Promise<{ status?: ApiStatus; warnings: string[] }> {
    if (attributes.dryRun && hook.sideEffects !== 'None' && hook.sideEffects !== 'NoneOnDryRun') {
      return { status: { code: 400, reason: 'BadRequest', message: `admission webhook "${hook.name}" does not support dry run` }, warnings: [] };
    }
    const version = (hook.admissionReviewVersions ?? []).find((candidate) => SUPPORTED_REVIEW_VERSIONS.includes(candidate));
    const failed = (reason: string, call: Omit<WebhookCall, 'outcome'>) => {
      const error = `failed calling webhook "${hook.name}": ${reason}`;
      this.calls.push({ ...call, outcome: error });
      return hook.failurePolicy === 'Ignore' ? { warnings: [] } : { status: callFailureStatus(error), warnings: [] };
    };
    const uid = randomUUID();
    const review = {
      apiVersion: `admission.k8s.io/${version ?? 'v1'}`,
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: attributes.kind,
        resource: attributes.resource,
        subResource: attributes.subResource,
        requestKind: attributes.kind,
        requestResource: attributes.resource,
        requestSubResource: attributes.subResource,
        name: attributes.name,
        namespace: attributes.namespace,
        operation: attributes.operation,
        userInfo: this.user,
        object: attributes.object,
        oldObject: null,
        dryRun: attributes.dryRun,
        options: attributes.options,
      },
    };
    if (version === undefined) {
      return failed(`webhook does not accept known AdmissionReview versions (${SUPPORTED_REVIEW_VERSIONS.join(', ')})`, { webhook: hook.name, url: '', endpoint: '', review });
    }

    const timeoutSeconds = hook.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    let target: WebhookTarget;
    try {
      target = this.resolve(hook, timeoutSeconds);
    } catch (error) {
      return failed((error as Error).message, { webhook: hook.name, url: '', endpoint: '', review });
    }
    const call = { webhook: hook.name, url: target.url, endpoint: `${target.host}:${target.port}`, review };
    let response: Json;
    try {
      response = await this.post(target, hook.clientConfig.caBundle, JSON.stringify(review), timeoutSeconds);
    } catch (error) {
      const reason = error instanceof CallError ? error.message : String(error);
      return failed(`failed to call webhook: Post "${target.url}": ${reason}`, call);
    }

    // VerifyAdmissionResponse: v1 checks the uid and the kind; v1beta1 checked neither.
    const answer = isObject(response.response) ? response.response : undefined;
    if (answer === undefined) return failed('response was absent', { ...call, response });
    if (version === 'v1') {
      if (response.apiVersion !== 'admission.k8s.io/v1' || response.kind !== 'AdmissionReview') {
        return failed(`expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${String(response.apiVersion)}, Kind=${String(response.kind)}`, {
          ...call,
          response,
        });
      }
      if (answer.uid !== uid) return failed(`expected response.uid="${uid}", got "${String(answer.uid)}"`, { ...call, response });
    }
    const warnings = Array.isArray(answer.warnings) ? answer.warnings.filter((warning): warning is string => typeof warning === 'string') : [];
    if (answer.allowed === true) {
      this.calls.push({ ...call, response, outcome: 'allowed' });
      return { warnings };
    }
    this.calls.push({ ...call, response, outcome: 'denied' });
    return { status: toStatusErr(attributes, hook.name, isObject(answer.status) ? answer.status : undefined), warnings };
  }

  /** The URL the API server posts to (with ?timeout=, spelled as Go prints it), and where the connection really goes. */
  private resolve(hook: ValidatingWebhook, timeoutSeconds: number): WebhookTarget {
    const { url, service } = hook.clientConfig;
    const timeout = `timeout=${timeoutSeconds}s`;
    if (url !== undefined) {
      const parsed = new URL(url);
      const path = `${parsed.pathname}${parsed.search === '' ? '?' : `${parsed.search}&`}${timeout}`;
      const kubeconfigUser = parsed.port === '' ? parsed.hostname : `${parsed.hostname}:${parsed.port}`;
      return { url: `${url}${parsed.search === '' ? '?' : '&'}${timeout}`, host: parsed.hostname, port: Number(parsed.port || 443), servername: parsed.hostname, path, kubeconfigUser };
    }
    if (service !== undefined) {
      const servername = `${service.name}.${service.namespace}.svc`;
      const port = service.port ?? 443;
      const path = `${service.path ?? '/'}?${timeout}`;
      const key = `${service.namespace}/${service.name}`;
      const endpoints = this.serviceEndpoints.get(key) ?? [];
      if (endpoints.length === 0) throw new Error(`service "${key}" has no endpoints in the fake (set serviceEndpoints)`);
      const turn = this.callsByService.get(key) ?? 0;
      this.callsByService.set(key, turn + 1);
      const endpoint = endpoints[turn % endpoints.length];
      return { url: `https://${servername}:${port}${path}`, host: endpoint.host, port: endpoint.port, servername, path, kubeconfigUser: port === 443 ? servername : `${servername}:${port}` };
    }
    throw new Error('clientConfig has neither url nor service');
  }

  private post(target: WebhookTarget, caBundle: string | undefined, body: string, timeoutSeconds: number): Promise<Json> {
    const ca = caBundle ? Buffer.from(caBundle, 'base64').toString('utf8') : undefined;
    const client = this.clientCertificates.get(target.kubeconfigUser);
    return new Promise((resolve, reject) => {
      const request = https.request(
        {
          host: target.host,
          port: target.port,
          // SNI takes names only; an IP address is still what the certificate is checked against.
          ...(isIP(target.servername) === 0 ? { servername: target.servername } : {}),
          path: target.path,
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': Buffer.byteLength(body) },
          ...(ca === undefined ? {} : { ca }),
          ...(client === undefined ? {} : { cert: client.cert, key: client.key }),
          minVersion: 'TLSv1.2',
          agent: false,
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            clearTimeout(timer);
            if ((response.statusCode ?? 0) < 200 || (response.statusCode ?? 0) > 299) {
              reject(new CallError(`the server responded with the status code ${response.statusCode} but did not return more information`));
              return;
            }
            try {
              const parsed: unknown = JSON.parse(text);
              if (!isObject(parsed)) throw new Error('not a JSON object');
              resolve(parsed);
            } catch (error) {
              reject(new CallError(`couldn't get version/kind; json parse error: ${(error as Error).message}`));
            }
          });
        },
      );
      const timer = setTimeout(() => request.destroy(new CallError('context deadline exceeded')), timeoutSeconds * 1000);
      request.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(error instanceof CallError ? error : new CallError(describeTransportError(error, target)));
      });
      request.end(body);
    });
  }
}
