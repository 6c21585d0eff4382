// API discovery for the fake API server, built from the resource types it serves: /api, /api/v1,
// /apis, /apis/{group}/{version} and /version, in the unaggregated form (a client asking for
// aggregated discovery gets plain JSON back and falls back, as against any older server).
// kubectl needs it to map resources and, for `kubectl drain`, to find `pods/eviction` in core v1
// with its group and version (kubectl pkg/drain CheckEvictionSupport); without it kubectl
// falls back to DELETE.

/** What discovery needs to know about one served resource. */
export interface DiscoveredType {
  /** Plural resource name: pods, nodes, … */
  resource: string;
  kind: string;
  /** v1, apps/v1, … */
  apiVersion: string;
  clusterScoped?: boolean;
}

interface ApiResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  group?: string;
  version?: string;
}

const OBJECT_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** Subresources the fake serves, by the resource they belong to. */
const SUBRESOURCES: Record<string, Omit<ApiResource, 'namespaced'>[]> = {
  pods: [{ name: 'pods/eviction', singularName: '', group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] }],
};

/** Served by their own module (fake-events.ts), not a stored resource type. */
const EXTRA_RESOURCES: DiscoveredType[] = [{ resource: 'events', kind: 'Event', apiVersion: 'v1' }];

/** The Kubernetes version the fake claims; kubectl v1.33 is what the tests drive. */
export const FAKE_SERVER_VERSION = { major: '1', minor: '33', gitVersion: 'v1.33.0-fake', platform: 'linux/amd64' };

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

function resourceList(groupVersion: string, types: readonly DiscoveredType[]): object {
  const resources: ApiResource[] = types
    .filter((type) => type.apiVersion === groupVersion)
    .sort((a, b) => a.resource.localeCompare(b.resource))
    .flatMap((type) => [
      { name: type.resource, singularName: type.kind.toLowerCase(), namespaced: !type.clusterScoped, kind: type.kind, verbs: OBJECT_VERBS },
      ...(SUBRESOURCES[type.resource] ?? []).map((sub) => ({ ...sub, namespaced: !type.clusterScoped })),
    ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}

/**
 * The discovery document at `path`, or undefined when the path is not a discovery path.
 * `types` are the resources served right now (a CRD that is not installed is left out).
 */
export function discoveryDocument(path: string, types: readonly DiscoveredType[], serverAddress: string): object | undefined {
  const all = [...types, ...EXTRA_RESOURCES];
  if (path === '/version') return FAKE_SERVER_VERSION;
  if (path === '/api') {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  }
  if (path === '/api/v1') return resourceList('v1', all);
  const groupVersions = [...new Set(all.map((type) => type.apiVersion).filter((apiVersion) => groupOf(apiVersion) !== ''))].sort();
  if (path === '/apis') {
    const byGroup = new Map<string, { groupVersion: string; version: string }[]>();
    for (const groupVersion of groupVersions) {
      const versions = byGroup.get(groupOf(groupVersion)) ?? [];
      versions.push({ groupVersion, version: groupVersion.split('/')[1] });
      byGroup.set(groupOf(groupVersion), versions);
    }
    const groups = [...byGroup].map(([name, versions]) => ({ name, versions, preferredVersion: versions[0] }));
    return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  }
  const groupVersion = /^\/apis\/([^/]+\/[^/]+)$/.exec(path)?.[1];
  if (groupVersion !== undefined && groupVersions.includes(groupVersion)) return resourceList(groupVersion, all);
  return undefined;
}
