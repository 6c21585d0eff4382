import { parseAllDocuments } from 'yaml';
import { ManifestError, patchCaBundleText } from '../../src/certs/manifests';

const BUNDLE = 'TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2s=';

function vwc(clientConfig: string): string {
  return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: guard
webhooks:
  - name: a.example.com
    clientConfig:
${clientConfig}
    sideEffects: None
`;
}

function bundles(text: string): unknown[] {
  return parseAllDocuments(text).flatMap((document) =>
    document.get('kind') === 'ValidatingWebhookConfiguration'
      ? (document.toJS() as { webhooks: { clientConfig: { caBundle?: unknown } }[] }).webhooks.map((webhook) => webhook.clientConfig.caBundle)
      : [],
  );
}

describe('patchCaBundleText', () => {
  it.each([
    ['a double-quoted value', '      caBundle: ""  # set me', `      caBundle: "${BUNDLE}"  # set me`],
    ['a single-quoted value', "      caBundle: 'old'", `      caBundle: '${BUNDLE}'`],
    ['a plain value', '      caBundle: Y2hhbmdlIG1l # old', `      caBundle: ${BUNDLE} # old`],
    ['an empty value', '      caBundle:', `      caBundle: ${BUNDLE}`],
    ['an empty value with a comment', '      caBundle:   # set me', `      caBundle:   ${BUNDLE} # set me`],
    ['a null value', '      caBundle: ~', `      caBundle: ${BUNDLE}`],
    ['a flow mapping', '      {caBundle: x, url: "https://guard.example.com"}', `      {caBundle: ${BUNDLE}, url: "https://guard.example.com"}`],
  ])('replaces %s in place, keeping every other byte', (_case, line, expected) => {
    const text = vwc(line);

    const patched = patchCaBundleText(text, BUNDLE);

    expect(patched).toEqual({ text: vwc(expected), webhooks: 1, changed: true });
  });

  it('adds a missing caBundle through the Document API, keeping comments and the other keys', () => {
    const text = vwc('      # where the webhook is\n      service: {name: guard, namespace: ops}');

    const patched = patchCaBundleText(text, BUNDLE);

    expect(patched.webhooks).toBe(1);
    expect(bundles(patched.text)).toEqual([BUNDLE]);
    expect(patched.text).toContain('      # where the webhook is\n');
    expect(patched.text).toContain('service: {name: guard, namespace: ops}');
    expect(patched.text).toContain('    sideEffects: None\n');
  });

  it('patches every webhook of every ValidatingWebhookConfiguration and nothing in other documents', () => {
    const other = `# a mutating webhook is not ours to patch
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
webhooks:
  - name: m.example.com
    clientConfig:
      caBundle: "keep"
`;
    const two = vwc('      caBundle: ""').replace('    sideEffects: None\n', '    sideEffects: None\n  - name: b.example.com\n    clientConfig:\n      caBundle: "x"\n');
    const text = `${other}---\n${two}---\n${vwc('      caBundle: ""')}`;

    const patched = patchCaBundleText(text, BUNDLE);

    expect(patched.webhooks).toBe(3);
    expect(bundles(patched.text)).toEqual([BUNDLE, BUNDLE, BUNDLE]);
    expect(patched.text.startsWith(other)).toBe(true);
    expect(patched.text.replaceAll(BUNDLE, '').replaceAll('caBundle: "x"', 'caBundle: ""')).toBe(text.replaceAll('caBundle: "x"', 'caBundle: ""'));
  });

  it('reports no change when the bundle is already there', () => {
    const text = vwc(`      caBundle: ${BUNDLE}`);
    expect(patchCaBundleText(text, BUNDLE)).toEqual({ text, webhooks: 1, changed: false });
  });

  it('leaves text without a ValidatingWebhookConfiguration alone, without parsing it', () => {
    const text = '{{ a helm template }}: [';
    expect(patchCaBundleText(text, BUNDLE)).toEqual({ text, webhooks: 0, changed: false });
  });

  it('refuses invalid YAML and a ValidatingWebhookConfiguration without webhooks', () => {
    expect(() => patchCaBundleText('kind: ValidatingWebhookConfiguration\nwebhooks: [', BUNDLE, 'bad.yaml')).toThrow(ManifestError);
    expect(() => patchCaBundleText('kind: ValidatingWebhookConfiguration\nwebhooks: [', BUNDLE, 'bad.yaml')).toThrow(/^bad\.yaml: not valid YAML/);
    expect(() => patchCaBundleText('kind: ValidatingWebhookConfiguration\nmetadata: {name: empty}\n', BUNDLE, 'empty.yaml')).toThrow(
      'empty.yaml: ValidatingWebhookConfiguration empty has no webhooks to patch',
    );
  });
});
