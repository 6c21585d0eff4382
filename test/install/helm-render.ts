/**
 * A small renderer for charts/eviction-guard, for tests on machines without a helm binary. It is
 * NOT Helm: it supports exactly the subset of Helm's template language the chart uses, and fails
 * loudly on anything else, so a template that strays outside the subset breaks the tests instead
 * of rendering something Helm would not. When a helm binary is present (HELM_BIN or `helm` on
 * PATH), helm.test.ts checks this renderer against `helm template`.
 *
 * Supported:
 * - Text and actions `{{ }}`, with whitespace trimming `{{- ` and ` -}}`; comments `{{/* *\/}}`.
 * - Pipelines `a | f b`; parenthesised pipelines; `.`, `.A.B`, `$`, `$x`, `$x.A.B`; string ("..."),
 *   integer, true/false/nil literals. Variables: `$x := p`, `$x = p` (assigns the nearest `$x`).
 * - `if` / `else if` / `else`, `range` over a list (with `.` as the item; no range variables),
 *   `with`, `define` + `include` (no `template`, no `block`), `end`.
 * - Functions: include toYaml nindent quote default required fail printf (%s %v %d %q %%) list eq
 *   ne not and has uniq prepend b64enc int index lookup trunc trimSuffix contains genCA
 *   genSignedCert.
 * - Go semantics where they matter: numbers from values are float64 (so 1000000 prints 1e+06, and
 *   %d of a value fails, as in Helm; `int` makes an integer); a field of a missing value is an
 *   error; a missing map key prints as an empty string; truthiness of empty strings, 0, nil, empty
 *   lists and maps; toYaml sorts map keys and drops the final newline. `lookup` finds nothing unless
 *   a `lookup` function is passed in (like `helm template`).
 * - YAML is read as YAML 1.1, like Helm and kubectl (sigs.k8s.io/yaml): 0440 is octal.
 * - Chart layout: Chart.yaml, values.yaml, templates/*.yaml and _*.tpl (NOTES.txt is not rendered,
 *   as with `helm template`), crds/*.yaml copied verbatim with includeCrds.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import YAML from 'yaml';

type Value = unknown;
type Dict = Record<string, Value>;

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

// ---------------------------------------------------------------------------------------------
// Lexing: text and actions, then the tokens inside an action.

type Segment = { text: string } | { action: string; where: string };

function segments(source: string, file: string): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  let trimNext = false;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    let text = source.slice(at, open === -1 ? undefined : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open === -1) {
      out.push({ text });
      break;
    }
    const trimBefore = source.startsWith('{{- ', open) || source.startsWith('{{-\n', open);
    if (trimBefore) text = text.replace(/\s+$/, '');
    out.push({ text });
    let inner = open + (trimBefore ? 3 : 2);
    let close: number;
    if (/^\s*\/\*/.test(source.slice(inner, inner + 8))) {
      const end = source.indexOf('*/', inner);
      if (end === -1) throw new TemplateError(`${file}: unclosed comment`);
      close = source.indexOf('}}', end);
      inner = close; // a comment renders nothing
    } else {
      close = inner;
      let quote: string | undefined;
      for (; close < source.length; close += 1) {
        const char = source[close];
        if (quote) {
          if (char === '\\' && quote === '"') close += 1;
          else if (char === quote) quote = undefined;
        } else if (char === '"' || char === '`') quote = char;
        else if (source.startsWith('}}', close)) break;
      }
    }
    if (close === -1 || close >= source.length) throw new TemplateError(`${file}: unclosed action`);
    const trimAfter = source[close - 1] === '-' && /\s/.test(source[close - 2] ?? '');
    const body = source.slice(inner, trimAfter ? close - 1 : close).trim();
    const line = source.slice(0, open).split('\n').length;
    if (body !== '') out.push({ action: body, where: `${file}:${line}` });
    at = close + 2;
    trimNext = trimAfter;
  }
  return out;
}

type Token = { kind: 'string' | 'number' | 'field' | 'var' | 'ident' | 'punct'; text: string };

function tokenize(action: string, where: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:("(?:[^"\\]|\\.)*")|(`[^`]*`)|(-?\d+(?:\.\d+)?)|((?:\.[A-Za-z_][\w]*)+|\.)|(\$[A-Za-z_]\w*(?:\.[A-Za-z_][\w]*)*|\$(?:\.[A-Za-z_][\w]*)*)|([A-Za-z_][\w]*)|(:=|[=|(),]))/y;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < action.length && (match = pattern.exec(action)) !== null) {
    if (match[1] !== undefined) tokens.push({ kind: 'string', text: JSON.parse(match[1]) as string });
    else if (match[2] !== undefined) tokens.push({ kind: 'string', text: match[2].slice(1, -1) });
    else if (match[3] !== undefined) tokens.push({ kind: 'number', text: match[3] });
    else if (match[4] !== undefined) tokens.push({ kind: 'field', text: match[4] });
    else if (match[5] !== undefined) tokens.push({ kind: 'var', text: match[5] });
    else if (match[6] !== undefined) tokens.push({ kind: 'ident', text: match[6] });
    else tokens.push({ kind: 'punct', text: match[7] });
  }
  if (action.slice(pattern.lastIndex).trim() !== '') throw new TemplateError(`${where}: cannot parse "${action.slice(pattern.lastIndex)}"`);
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Parsing: pipelines, and the tree of control structures.

type Operand =
  | { kind: 'literal'; value: Value }
  | { kind: 'field'; base: 'dot' | string; path: string[] } // base: 'dot' or a variable name
  | { kind: 'ident'; name: string }
  | { kind: 'pipe'; pipeline: Pipeline };
interface Pipeline {
  declare?: { name: string; assign: boolean };
  commands: Operand[][];
  where: string;
}

function parsePipeline(tokens: Token[], where: string): Pipeline {
  let at = 0;
  const pipeline: Pipeline = { commands: [], where };
  if (tokens.length > 1 && tokens[0].kind === 'var' && tokens[1].kind === 'punct' && (tokens[1].text === ':=' || tokens[1].text === '=')) {
    if (tokens[0].text.includes('.')) throw new TemplateError(`${where}: cannot assign to a field`);
    pipeline.declare = { name: tokens[0].text, assign: tokens[1].text === '=' };
    at = 2;
  }
  const operand = (): Operand => {
    const token = tokens[at++];
    if (token === undefined) throw new TemplateError(`${where}: missing operand`);
    switch (token.kind) {
      case 'string':
        return { kind: 'literal', value: token.text };
      case 'number':
        return { kind: 'literal', value: token.text.includes('.') ? Number(token.text) : BigInt(token.text) };
      case 'field':
        return { kind: 'field', base: 'dot', path: token.text === '.' ? [] : token.text.slice(1).split('.') };
      case 'var': {
        const [name, ...fields] = token.text.split('.');
        return { kind: 'field', base: name, path: fields };
      }
      case 'ident':
        if (token.text === 'true' || token.text === 'false') return { kind: 'literal', value: token.text === 'true' };
        if (token.text === 'nil') return { kind: 'literal', value: null };
        return { kind: 'ident', name: token.text };
      default: {
        if (token.text !== '(') throw new TemplateError(`${where}: unexpected "${token.text}"`);
        const start = at;
        let depth = 1;
        while (at < tokens.length && depth > 0) {
          if (tokens[at].text === '(' && tokens[at].kind === 'punct') depth += 1;
          if (tokens[at].text === ')' && tokens[at].kind === 'punct') depth -= 1;
          at += 1;
        }
        if (depth !== 0) throw new TemplateError(`${where}: unbalanced parentheses`);
        return { kind: 'pipe', pipeline: parsePipeline(tokens.slice(start, at - 1), where) };
      }
    }
  };
  let command: Operand[] = [];
  while (at < tokens.length) {
    if (tokens[at].kind === 'punct' && tokens[at].text === '|') {
      at += 1;
      pipeline.commands.push(command);
      command = [];
    } else command.push(operand());
  }
  pipeline.commands.push(command);
  if (pipeline.commands.some((entry) => entry.length === 0)) throw new TemplateError(`${where}: empty command`);
  return pipeline;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'output'; pipeline: Pipeline }
  | { kind: 'if' | 'with'; pipeline: Pipeline; then: Node[]; otherwise: Node[] }
  | { kind: 'range'; pipeline: Pipeline; body: Node[]; otherwise: Node[] };

const KEYWORD = /^(if|else|end|range|with|define|template|block)\b\s*/;

function parseTemplate(source: string, file: string, defines: Map<string, Node[]>): Node[] {
  const list = segments(source, file);
  let at = 0;
  // Parses until `end` or `else`; returns the nodes and the terminating keyword action.
  const parseBody = (): { nodes: Node[]; stop?: { keyword: string; rest: string; where: string } } => {
    const nodes: Node[] = [];
    while (at < list.length) {
      const segment = list[at++];
      if ('text' in segment) {
        if (segment.text !== '') nodes.push({ kind: 'text', text: segment.text });
        continue;
      }
      const keyword = KEYWORD.exec(segment.action);
      if (!keyword) {
        nodes.push({ kind: 'output', pipeline: parsePipeline(tokenize(segment.action, segment.where), segment.where) });
        continue;
      }
      const rest = segment.action.slice(keyword[0].length);
      const where = segment.where;
      switch (keyword[1]) {
        case 'end':
        case 'else':
          return { nodes, stop: { keyword: keyword[1], rest, where } };
        case 'if':
        case 'with':
          nodes.push(parseConditional(keyword[1], rest, where));
          break;
        case 'range': {
          const pipeline = parsePipeline(tokenize(rest, where), where);
          if (pipeline.declare) throw new TemplateError(`${where}: range variables are outside the supported subset`);
          const body = parseBody();
          const otherwise = body.stop?.keyword === 'else' ? parseBody() : undefined;
          if ((otherwise ?? body).stop?.keyword !== 'end') throw new TemplateError(`${where}: range without end`);
          nodes.push({ kind: 'range', pipeline, body: body.nodes, otherwise: otherwise?.nodes ?? [] });
          break;
        }
        case 'define': {
          const name = JSON.parse(rest.trim()) as string;
          const body = parseBody();
          if (body.stop?.keyword !== 'end') throw new TemplateError(`${where}: define without end`);
          defines.set(name, body.nodes);
          break;
        }
        default:
          throw new TemplateError(`${where}: "${keyword[1]}" is outside the supported subset (use include)`);
      }
    }
    return { nodes };
  };
  const parseConditional = (kind: 'if' | 'with', rest: string, where: string): Node => {
    const pipeline = parsePipeline(tokenize(rest, where), where);
    const then = parseBody();
    const node: Node = { kind, pipeline, then: then.nodes, otherwise: [] };
    if (then.stop?.keyword === 'else') {
      const chained = /^(if|with)\b\s*/.exec(then.stop.rest);
      if (chained) {
        if (chained[1] !== kind) throw new TemplateError(`${where}: else ${chained[1]} inside ${kind}`);
        // `else if x` ... `end` closes the whole chain: parse it as a nested conditional.
        node.otherwise = [parseConditional(kind, then.stop.rest.slice(chained[0].length), then.stop.where)];
        return node;
      }
      const otherwise = parseBody();
      if (otherwise.stop?.keyword !== 'end') throw new TemplateError(`${where}: ${kind} without end`);
      node.otherwise = otherwise.nodes;
    } else if (then.stop?.keyword !== 'end') throw new TemplateError(`${where}: ${kind} without end`);
    return node;
  };
  const top = parseBody();
  if (top.stop) throw new TemplateError(`${top.stop.where}: unexpected ${top.stop.keyword}`);
  return top.nodes;
}

// ---------------------------------------------------------------------------------------------
// Values with Go semantics.

function isDict(value: Value): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function truthy(value: Value): boolean {
  if (value === undefined || value === null || value === false || value === '' || value === 0 || value === 0n) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isDict(value)) return Object.keys(value).length > 0;
  return true;
}

/** Go's %v of a float64: the shortest representation, in exponent form from 1e+06 up (or below 1e-4). */
function formatFloat(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const [digits, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  const significant = digits.replace(/^-/, '').replace('.', '').length;
  const precision = 6 > significant && significant >= exponent + 1 ? significant : 6;
  if (exponent < -4 || exponent >= precision) {
    return `${digits}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(value);
}

function print(value: Value, where: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return formatFloat(value);
  throw new TemplateError(`${where}: printing a ${Array.isArray(value) ? 'list' : 'map'} directly; use toYaml`);
}

function plain(value: Value): Value {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  if (isDict(value)) return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, plain(entry)]));
  return value;
}

function toYaml(value: Value): string {
  return YAML.stringify(plain(value) ?? null, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, '');
}

function indent(spaces: number, text: string): string {
  const pad = ' '.repeat(spaces);
  return pad + text.replaceAll('\n', `\n${pad}`);
}

function sprintf(format: string, args: Value[], where: string): string {
  let next = 0;
  return format.replace(/%([%svdq])/g, (_all, verb: string) => {
    if (verb === '%') return '%';
    if (next >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[next++];
    switch (verb) {
      case 'd':
        return typeof arg === 'bigint' ? String(arg) : `%!d(${typeof arg === 'number' ? 'float64' : typeof arg}=${print(arg, where)})`;
      case 'q':
        return JSON.stringify(print(arg, where));
      default:
        return print(arg, where);
    }
  });
}

function asNumber(value: Value, where: string): number {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return value;
  throw new TemplateError(`${where}: expected a number, got ${JSON.stringify(value)}`);
}

function sameValue(a: Value, b: Value): boolean {
  const normal = (value: Value) => (typeof value === 'bigint' ? Number(value) : value);
  return normal(a) === normal(b);
}

interface KeyPair {
  Cert: string;
  Key: string;
}

function makeCertificate(commonName: string, days: number, dnsNames: string[], issuer?: KeyPair): KeyPair {
  const { privateKey: keyPem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  // Positive, and minimal in DER (a leading 0x00 byte is "illegal padding" to OpenSSL 3).
  const serial = randomBytes(16);
  serial[0] = serial[0] & 0x7f || 0x01;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date();
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  const signer = issuer ? forge.pki.certificateFromPem(issuer.Cert) : cert;
  cert.setIssuer(signer.subject.attributes);
  cert.setExtensions(
    issuer
      ? [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
          { name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) },
        ]
      : [
          { name: 'basicConstraints', cA: true },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
        ],
  );
  cert.sign(issuer ? forge.pki.privateKeyFromPem(issuer.Key) : key, forge.md.sha256.create());
  // forge ends PEM lines with CRLF; Helm's genCA/genSignedCert (Go's pem package) with LF.
  return { Cert: forge.pki.certificateToPem(cert).replaceAll('\r\n', '\n'), Key: keyPem };
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

export type Lookup = (apiVersion: string, kind: string, namespace: string, name: string) => Dict | undefined;

class Renderer {
  constructor(
    private readonly defines: Map<string, Node[]>,
    private readonly lookup: Lookup | undefined,
  ) {}

  run(nodes: Node[], dot: Value, root: Value): string {
    return this.nodes(nodes, dot, [new Map([['$', root]])]);
  }

  private nodes(nodes: Node[], dot: Value, scopes: Map<string, Value>[]): string {
    let out = '';
    for (const node of nodes) out += this.node(node, dot, scopes);
    return out;
  }

  private node(node: Node, dot: Value, scopes: Map<string, Value>[]): string {
    switch (node.kind) {
      case 'text':
        return node.text;
      case 'output': {
        const value = this.pipeline(node.pipeline, dot, scopes);
        return node.pipeline.declare ? '' : print(value, node.pipeline.where);
      }
      case 'if':
      case 'with': {
        const inner = [...scopes, new Map<string, Value>()];
        const value = this.pipeline(node.pipeline, dot, inner);
        if (truthy(value)) return this.nodes(node.then, node.kind === 'with' ? value : dot, inner);
        return this.nodes(node.otherwise, dot, [...scopes, new Map()]);
      }
      case 'range': {
        const { where } = node.pipeline;
        const value = this.pipeline(node.pipeline, dot, scopes);
        if (value !== undefined && value !== null && !Array.isArray(value)) throw new TemplateError(`${where}: range over a non-list`);
        if (!truthy(value)) return this.nodes(node.otherwise, dot, [...scopes, new Map()]);
        let out = '';
        for (const item of value as Value[]) out += this.nodes(node.body, item, [...scopes, new Map()]);
        return out;
      }
    }
  }

  private pipeline(pipeline: Pipeline, dot: Value, scopes: Map<string, Value>[]): Value {
    let value: Value;
    pipeline.commands.forEach((command, index) => {
      value = this.command(command, dot, scopes, pipeline.where, index === 0 ? [] : [value]);
    });
    const { declare } = pipeline;
    if (declare) {
      const { name } = declare;
      if (declare.assign) {
        const scope = [...scopes].reverse().find((entry) => entry.has(name));
        if (!scope) throw new TemplateError(`${pipeline.where}: undefined variable ${name}`);
        scope.set(name, value);
      } else scopes[scopes.length - 1].set(name, value);
    }
    return value;
  }

  private command(command: Operand[], dot: Value, scopes: Map<string, Value>[], where: string, piped: Value[]): Value {
    const [head, ...rest] = command;
    if (head.kind === 'ident') {
      const args = [...rest.map((operand) => this.operand(operand, dot, scopes, where)), ...piped];
      return this.call(head.name, args, where);
    }
    if (rest.length > 0 || piped.length > 0) throw new TemplateError(`${where}: cannot give arguments to a non-function`);
    return this.operand(head, dot, scopes, where);
  }

  private operand(operand: Operand, dot: Value, scopes: Map<string, Value>[], where: string): Value {
    switch (operand.kind) {
      case 'literal':
        return operand.value;
      case 'ident':
        return this.call(operand.name, [], where);
      case 'pipe':
        return this.pipeline(operand.pipeline, dot, scopes);
      case 'field': {
        let value: Value = dot;
        if (operand.base !== 'dot') {
          const scope = [...scopes].reverse().find((entry) => entry.has(operand.base));
          if (!scope) throw new TemplateError(`${where}: undefined variable ${operand.base}`);
          value = scope.get(operand.base);
        }
        for (const field of operand.path) {
          if (value === undefined || value === null) throw new TemplateError(`${where}: nil pointer evaluating .${field}`);
          if (!isDict(value)) throw new TemplateError(`${where}: can't evaluate field ${field} in ${typeof value}`);
          value = value[field];
        }
        return value;
      }
    }
  }

  private call(name: string, args: Value[], where: string): Value {
    const arity = (min: number, max = min) => {
      if (args.length < min || args.length > max) throw new TemplateError(`${where}: ${name} takes ${min === max ? min : `${min}-${max}`} arguments, got ${args.length}`);
    };
    const text = (value: Value) => print(value, where);
    switch (name) {
      case 'include': {
        arity(2);
        const body = this.defines.get(String(args[0]));
        if (!body) throw new TemplateError(`${where}: no template "${String(args[0])}"`);
        return this.run(body, args[1], args[1]);
      }
      case 'toYaml':
        arity(1);
        return toYaml(args[0]);
      case 'nindent':
        arity(2);
        return `\n${indent(asNumber(args[0], where), text(args[1]))}`;
      case 'quote':
        return args.filter((arg) => arg !== undefined && arg !== null).map((arg) => JSON.stringify(text(arg))).join(' ');
      case 'default':
        arity(1, 2);
        return args.length === 2 && truthy(args[1]) ? args[1] : args[0];
      case 'required':
        arity(2);
        if (args[1] === undefined || args[1] === null || args[1] === '') throw new TemplateError(`${where}: ${String(args[0])}`);
        return args[1];
      case 'fail':
        arity(1);
        throw new TemplateError(`${where}: ${String(args[0])}`);
      case 'printf':
        return sprintf(String(args[0]), args.slice(1), where);
      case 'list':
        return [...args];
      case 'eq':
        arity(2, Infinity);
        return args.slice(1).some((arg) => sameValue(args[0], arg));
      case 'ne':
        arity(2);
        return !sameValue(args[0], args[1]);
      case 'not':
        arity(1);
        return !truthy(args[0]);
      case 'and':
        return args.find((arg) => !truthy(arg)) ?? args[args.length - 1];
      case 'has':
        arity(2);
        return Array.isArray(args[1]) && args[1].some((item) => sameValue(item, args[0]));
      case 'uniq':
        arity(1);
        return (args[0] as Value[]).filter((item, index, all) => all.findIndex((other) => sameValue(other, item)) === index);
      case 'prepend':
        arity(2);
        if (!Array.isArray(args[0])) throw new TemplateError(`${where}: cannot prepend to ${JSON.stringify(args[0])}`);
        return [args[1], ...args[0]];
      case 'b64enc':
        arity(1);
        return Buffer.from(text(args[0]), 'utf8').toString('base64');
      case 'int':
        arity(1);
        return BigInt(Math.trunc(Number(args[0] ?? 0)));
      case 'index': {
        let value = args[0];
        for (const key of args.slice(1)) {
          if (value === undefined || value === null) return undefined;
          value = (value as Dict)[String(key)];
        }
        return value;
      }
      case 'lookup':
        arity(4);
        return this.lookup?.(...(args.map(String) as [string, string, string, string])) ?? {};
      case 'trunc':
        arity(2);
        return text(args[1]).slice(0, asNumber(args[0], where));
      case 'trimSuffix': {
        arity(2);
        const [suffix, value] = [text(args[0]), text(args[1])];
        return suffix !== '' && value.endsWith(suffix) ? value.slice(0, -suffix.length) : value;
      }
      case 'contains':
        arity(2);
        return text(args[1]).includes(text(args[0]));
      case 'genCA':
        arity(2);
        if (typeof args[1] !== 'bigint') throw new TemplateError(`${where}: genCA wants an int of days (use int)`);
        return makeCertificate(text(args[0]), Number(args[1]), []);
      case 'genSignedCert': {
        arity(5);
        if (typeof args[3] !== 'bigint') throw new TemplateError(`${where}: genSignedCert wants an int of days (use int)`);
        if (args[1] !== null && !(Array.isArray(args[1]) && args[1].length === 0)) throw new TemplateError(`${where}: IP SANs are not supported`);
        return makeCertificate(text(args[0]), Number(args[3]), (args[2] as Value[]).map(text), args[4] as KeyPair);
      }
      default:
        throw new TemplateError(`${where}: function "${name}" is outside the supported subset`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Charts.

export interface RenderOptions {
  releaseName?: string;
  namespace?: string;
  /** Deep-merged over values.yaml, like `helm template -f`. */
  values?: Dict;
  includeCrds?: boolean;
  lookup?: Lookup;
}

export interface RenderedChart {
  /** Rendered text per template, by chart-relative path (crds/ included with includeCrds). */
  files: Map<string, string>;
  /** Every object, in file order. */
  objects: Dict[];
  values: Dict;
}

export function mergeValues(base: Dict, override: Dict): Dict {
  const merged: Dict = { ...base };
  for (const [key, value] of Object.entries(override)) {
    merged[key] = isDict(value) && isDict(merged[key]) ? mergeValues(merged[key], value) : value;
  }
  return merged;
}

function capitalised(chart: Dict): Dict {
  return Object.fromEntries(Object.entries(chart).map(([key, value]) => [key[0].toUpperCase() + key.slice(1), value]));
}

export function renderChart(chartDir: string, options: RenderOptions = {}): RenderedChart {
  const chart = YAML.parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as Dict;
  const values = mergeValues((YAML.parse(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'), { version: '1.1' }) ?? {}) as Dict, options.values ?? {});
  const releaseName = options.releaseName ?? String(chart.name);
  const namespace = options.namespace ?? 'default';
  const root: Dict = {
    Values: values,
    Chart: capitalised(chart),
    Release: { Name: releaseName, Namespace: namespace, Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1n },
  };
  const templateDir = path.join(chartDir, 'templates');
  const names = readdirSync(templateDir).sort();
  const defines = new Map<string, Node[]>();
  const trees = new Map<string, Node[]>();
  for (const name of names) {
    if (!/\.(ya?ml|tpl)$/.test(name)) continue;
    const tree = parseTemplate(readFileSync(path.join(templateDir, name), 'utf8'), `templates/${name}`, defines);
    if (!name.startsWith('_')) trees.set(`templates/${name}`, tree);
  }
  const renderer = new Renderer(defines, options.lookup);
  const files = new Map<string, string>();
  if (options.includeCrds) {
    const crdDir = path.join(chartDir, 'crds');
    for (const name of readdirSync(crdDir).sort()) files.set(`crds/${name}`, readFileSync(path.join(crdDir, name), 'utf8'));
  }
  for (const [file, tree] of trees) files.set(file, renderer.run(tree, root, root));
  const objects: Dict[] = [];
  for (const [file, text] of files) {
    for (const document of YAML.parseAllDocuments(text, { version: '1.1' })) {
      if (document.errors.length > 0) throw new TemplateError(`${file}: rendered YAML is invalid: ${document.errors[0].message}\n${text}`);
      const object = document.toJS() as Dict | null;
      if (object !== null) objects.push(object);
    }
  }
  return { files, objects, values };
}
