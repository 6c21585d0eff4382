import { splitListPage } from '../../src/cluster/list-page';

const page = (text: string) => text;

describe('splitListPage', () => {
  it('parses the metadata and keeps each item as its own JSON text, whatever the whitespace', () => {
    const split = splitListPage(page(' {"kind" : "PodList", "metadata":{"resourceVersion":"7","continue":"abc"},\n "items" : [ {"a":[1,{"b":"}]"}]} ,\t{"c":"\\"{"} ] }'));
    expect(split).toEqual({ metadata: { resourceVersion: '7', continue: 'abc' }, items: ['{"a":[1,{"b":"}]"}]}', '{"c":"\\"{"}'] });
  });

  it('keeps multi-byte UTF-8 whole in the items it cuts', () => {
    const items = ['{"owner":"Zoë"}', '{"city":"東京 🚀","q":"\\\\"}'];
    const split = splitListPage(page(`{"metadata":{"resourceVersion":"1"},"items":[${items.join(',')}]}`));
    expect(split.items).toEqual(items);
    expect(split.items.map((item) => JSON.parse(item))).toEqual([{ owner: 'Zoë' }, { city: '東京 🚀', q: '\\' }]);
  });

  it('answers no items for an empty list or a list without items', () => {
    expect(splitListPage(page('{"metadata":{"resourceVersion":"3"},"items":[]}')).items).toEqual([]);
    expect(splitListPage(page('{"metadata":{"resourceVersion":"3"}}'))).toEqual({ metadata: { resourceVersion: '3' }, items: [] });
  });

  it.each([
    ['an unterminated string', '{"metadata":{},"items":[{"a":"b}]}', /unterminated string/],
    ['a truncated body', '{"metadata":{},"items":[{"a":1}', /offset \d+/],
    ['not an object', '[]', /offset 0: expected \{/],
  ])('fails on %s, naming the offset', (_name, text, message) => {
    expect(() => splitListPage(page(text))).toThrow(message);
  });
});
