// Unknown fields. kubernetes-models' validate() checks types and required fields but lets unknown
// fields through, so `readOnlyRootFileSystem: true` (a typo the API server would refuse under
// kubectl's default strict field validation, or silently drop) would pass it. This walks each
// object along the TypeScript interfaces kubernetes-models ships (the same upstream OpenAPI) and
// reports every field the interface does not have.
import path from 'node:path';
import ts from 'typescript';

// The kinds the installs use, by apiVersion/kind, with the models' interface for each.
const MODELS: Record<string, [module: string, name: string]> = {
  'v1/Namespace': ['kubernetes-models/v1/Namespace', 'INamespace'],
  'v1/ServiceAccount': ['kubernetes-models/v1/ServiceAccount', 'IServiceAccount'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
  'v1/Secret': ['kubernetes-models/v1/Secret', 'ISecret'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  'networking.k8s.io/v1/NetworkPolicy': ['kubernetes-models/networking.k8s.io/v1/NetworkPolicy', 'INetworkPolicy'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'],
  'rbac.authorization.k8s.io/v1/ClusterRole': ['kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole', 'IClusterRole'],
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ['kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding', 'IClusterRoleBinding'],
  'scheduling.k8s.io/v1/PriorityClass': ['kubernetes-models/scheduling.k8s.io/v1/PriorityClass', 'IPriorityClass'],
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': [
    'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration',
    'IValidatingWebhookConfiguration',
  ],
  'apiextensions.k8s.io/v1/CustomResourceDefinition': ['kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition', 'ICustomResourceDefinition'],
};

let cache: { checker: ts.TypeChecker; types: Map<string, ts.Type> } | undefined;

/** One small program over a generated file that names each interface; built once (about a second). */
function modelTypes(): { checker: ts.TypeChecker; types: Map<string, ts.Type> } {
  if (cache) return cache;
  const file = path.join(__dirname, '__models__.ts');
  const keys = Object.keys(MODELS);
  const source = [
    ...keys.map((key, index) => `import type { ${MODELS[key][1]} as M${index} } from '${MODELS[key][0]}';`),
    ...keys.map((_key, index) => `export declare const m${index}: M${index};`),
  ].join('\n');
  const options: ts.CompilerOptions = { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, strict: true, skipLibCheck: true, noEmit: true, types: [] };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (name) => (name === file ? source : readFile(name));
  host.fileExists = ((exists) => (name: string) => name === file || exists(name))(host.fileExists.bind(host));
  host.getSourceFile = (name, version, ...rest) => (name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest));
  const program = ts.createProgram([file], options, host);
  const checker = program.getTypeChecker();
  const sourceFile = program.getSourceFile(file) as ts.SourceFile;
  const types = new Map<string, ts.Type>();
  const declarations = sourceFile.statements.filter(ts.isVariableStatement);
  keys.forEach((key, index) => {
    const declaration = declarations[index].declarationList.declarations[0];
    types.set(key, checker.getTypeAtLocation(declaration.name));
  });
  const unresolved = keys.filter((key) => (types.get(key)?.getProperties().length ?? 0) === 0);
  if (unresolved.length > 0) throw new Error(`kubernetes-models types not found for ${unresolved.join(', ')}`);
  cache = { checker, types };
  return cache;
}

/** The object types a value of this type may be (undefined/null and primitives dropped). */
function objectTypes(type: ts.Type): ts.Type[] {
  const parts = type.isUnion() ? type.types : [type];
  return parts.filter((part) => (part.flags & ts.TypeFlags.Object) !== 0 || part.isIntersection());
}

function walk(checker: ts.TypeChecker, value: unknown, type: ts.Type, at: string, problems: string[]): void {
  if (typeof value !== 'object' || value === null) return;
  const candidates = objectTypes(type);
  if (candidates.length === 0) return; // e.g. `any` or a primitive: validate() reports type errors
  if (Array.isArray(value)) {
    const arrayType = candidates.find((candidate) => checker.isArrayType(candidate));
    const element = arrayType ? checker.getTypeArguments(arrayType as ts.TypeReference)[0] : undefined;
    if (element) value.forEach((item, index) => walk(checker, item, element, `${at}[${index}]`, problems));
    return;
  }
  const objectType = candidates.find((candidate) => !checker.isArrayType(candidate));
  if (!objectType) return;
  const index = checker.getIndexTypeOfType(objectType, ts.IndexKind.String);
  // An empty interface stands for "any JSON" (JSONSchemaPropsOrArray, RawExtension...).
  if (!index && objectType.getProperties().length === 0) return;
  for (const [key, child] of Object.entries(value)) {
    const property = checker.getPropertyOfType(objectType, key);
    if (property) walk(checker, child, checker.getTypeOfSymbol(property), `${at}.${key}`, problems);
    else if (index) walk(checker, child, index, `${at}.${key}`, problems);
    else problems.push(`${at}.${key}: unknown field`);
  }
}

/** Fields of the object its kind does not have, as `.spec.x: unknown field`; undefined for kinds not covered. */
export function unknownFields(object: Record<string, unknown>): string[] | undefined {
  const key = `${object.apiVersion}/${object.kind}`;
  if (!MODELS[key]) return undefined;
  const { checker, types } = modelTypes();
  const problems: string[] = [];
  walk(checker, object, types.get(key) as ts.Type, '', problems);
  return problems;
}
