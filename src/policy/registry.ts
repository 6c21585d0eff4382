// The policies in force: those from files and those from the cluster, validated and compiled.
// Compiling is cached by content, so an unchanged policy is not recompiled (its CEL programs are
// planned once per version). An invalid policy is left out and reported; the others keep working.
import { createHash } from 'node:crypto';
import type { ClusterLogger } from '../cluster/view';
import type { PodFacts } from '../domain';
import type { PolicyDocument } from './load';
import { PolicyIndex } from './policy-index';
import { parsePolicy, policyLabel, type EvictionPolicy, type PolicyError } from './schema';

type PolicySourceName = 'files' | 'cluster';

interface SourceContents {
  documents: readonly PolicyDocument[];
  /** Problems found before validation: unreadable files, broken YAML. */
  errors: readonly PolicyError[];
}

/** What /readyz shows about policies. */
export interface PolicyStatus {
  loaded: string[];
  errors: { policy?: string; origin: string; message: string }[];
}

type Compiled = { policy: EvictionPolicy } | { error: PolicyError };

function contentKey(document: PolicyDocument): string {
  return createHash('sha256').update(document.origin).update('\u0000').update(JSON.stringify(document.raw) ?? '').digest('base64');
}

export class PolicyRegistry {
  private readonly sources = new Map<PolicySourceName, SourceContents>();
  private cache = new Map<string, Compiled>();
  private policies: readonly EvictionPolicy[] = [];
  private index = new PolicyIndex([]);
  private errors: readonly PolicyError[] = [];

  constructor(private readonly logger: ClusterLogger) {}

  /** The valid policies, ordered by name. */
  current(): readonly EvictionPolicy[] {
    return this.policies;
  }

  /** The valid policies whose namespaces and pod labels can select `pod`, ordered by name (PolicyIndex). */
  candidates(pod: PodFacts): readonly EvictionPolicy[] {
    return this.index.candidates(pod);
  }

  status(): PolicyStatus {
    return {
      loaded: this.policies.map((policy) => policy.name),
      errors: this.errors.map(({ name, origin, message }) => ({ ...(name === undefined ? {} : { policy: name }), origin, message })),
    };
  }

  /** Replaces what one source holds and recompiles what changed. */
  update(source: PolicySourceName, contents: SourceContents): void {
    this.sources.set(source, contents);
    const previousErrors = new Set(this.errors.map((error) => error.message));
    const previousNames = this.policies.map((policy) => policy.name).join(',');

    const cache = new Map<string, Compiled>();
    const byName = new Map<string, EvictionPolicy>();
    const errors: PolicyError[] = [];
    let recompiled = 0;
    for (const { documents, errors: sourceErrors } of [this.sources.get('files'), this.sources.get('cluster')].filter((s) => s !== undefined)) {
      errors.push(...sourceErrors);
      for (const document of documents) {
        const key = contentKey(document);
        let compiled = this.cache.get(key) ?? cache.get(key);
        if (compiled === undefined) {
          compiled = parsePolicy(document.raw, document.origin);
          recompiled++;
        }
        cache.set(key, compiled);
        if ('error' in compiled) {
          errors.push(compiled.error);
          continue;
        }
        const { policy } = compiled;
        const first = byName.get(policy.name);
        if (first === undefined) {
          byName.set(policy.name, policy);
          continue;
        }
        errors.push({
          name: policy.name,
          origin: policy.origin,
          message: `${policyLabel(policy.name, policy.origin)}: metadata.name: already used by ${first.origin}; names must be unique, they are part of check ids`,
        });
      }
    }
    this.cache = cache;
    this.policies = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
    this.index = new PolicyIndex(this.policies);
    this.errors = errors;

    for (const error of errors) {
      if (!previousErrors.has(error.message)) this.logger.error({ policy: error.name, origin: error.origin, error: error.message }, 'ignoring an invalid policy');
    }
    const names = this.policies.map((policy) => policy.name);
    if (recompiled > 0 || names.join(',') !== previousNames) {
      this.logger.info({ source, policies: names, recompiled, invalid: errors.length }, 'policies in force');
    }
  }
}
