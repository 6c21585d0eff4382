import { ListPageReader } from '../../src/cluster/list-page';

/** The page read in the given pieces: the items in the order they were handed on, and the page. */
function readInPieces(pieces: string[]) {
  const items: string[] = [];
  const reader = new ListPageReader((item) => items.push(item));
  for (const piece of pieces) reader.push(piece);
  return { ...reader.end(), items };
}

const splitListPage = (text: string) => readInPieces([text]);

describe('ListPageReader, a whole page pushed at once', () => {
  it('parses the metadata and keeps each item as its own JSON text, whatever the whitespace', () => {
    const split = splitListPage(' {"kind" : "PodList", "metadata":{"resourceVersion":"7","continue":"abc"},\n "items" : [ {"a":[1,{"b":"}]"}]} ,\t{"c":"\\"{"} ] }');
    expect(split).toEqual({ metadata: { resourceVersion: '7', continue: 'abc' }, items: ['{"a":[1,{"b":"}]"}]}', '{"c":"\\"{"}'] });
  });

  it('keeps multi-byte UTF-8 whole in the items it cuts', () => {
    const items = ['{"owner":"Zoë"}', '{"city":"東京 🚀","q":"\\\\"}'];
    const split = splitListPage(`{"metadata":{"resourceVersion":"1"},"items":[${items.join(',')}]}`);
    expect(split.items).toEqual(items);
    expect(split.items.map((item) => JSON.parse(item))).toEqual([{ owner: 'Zoë' }, { city: '東京 🚀', q: '\\' }]);
  });

  it('answers no items for an empty list or a list without items', () => {
    expect(splitListPage('{"metadata":{"resourceVersion":"3"},"items":[]}').items).toEqual([]);
    expect(splitListPage('{"metadata":{"resourceVersion":"3"}}')).toEqual({ metadata: { resourceVersion: '3' }, items: [] });
  });

  it.each([
    ['an unterminated string', '{"metadata":{},"items":[{"a":"b}]}', /offset 24: the response ended inside the list/],
    ['a truncated body', '{"metadata":{},"items":[{"a":1}', /offset \d+/],
    ['not an object', '[]', /offset 0: expected \{/],
  ])('fails on %s, naming the offset', (_name, text, message) => {
    expect(() => splitListPage(text)).toThrow(message);
  });
});

describe('ListPageReader', () => {
  const text = ' {"kind":"PodList","metadata":{"resourceVersion":"12","continue":"x\\"y"},"items":[{"n":"a\\\\","v":[1,2]} , {"n":"Zoë }]","v":-1.5e3},{"n":"c"}] , "apiVersion":"v1" } ';
  const whole = splitListPage(text);

  it('reads the same page whole and cut at any point, or at every character', () => {
    expect(whole.items.map((item) => JSON.parse(item))).toEqual([{ n: 'a\\', v: [1, 2] }, { n: 'Zoë }]', v: -1500 }, { n: 'c' }]);
    expect(whole.metadata).toEqual({ resourceVersion: '12', continue: 'x"y' });
    for (let cut = 0; cut <= text.length; cut++) expect(readInPieces([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    expect(readInPieces([...text])).toEqual(whole);
  });

  it('hands on each item as soon as it is whole, before the rest of the page arrives', () => {
    const items: string[] = [];
    const reader = new ListPageReader((item) => items.push(item));
    reader.push('{"metadata":{},"items":[{"a":1},{"b"');
    expect(items).toEqual(['{"a":1}']);
    reader.push(':2}]}');
    expect(items).toEqual(['{"a":1}', '{"b":2}']);
    expect(reader.end()).toEqual({ metadata: {} });
  });

  it('fails when the response ends inside the list or goes on after it', () => {
    const cutShort = new ListPageReader(() => {});
    cutShort.push('{"metadata":{},"items":[{"a":1},{"b":');
    expect(() => cutShort.end()).toThrow(/ended inside the list \(item\)/);
    const trailing = new ListPageReader(() => {});
    trailing.push('{"items":[]} {');
    expect(() => trailing.end()).toThrow('invalid list JSON at offset 13: text after the list');
  });

  it('passes on what the item handler throws, and reads no further', () => {
    const seen: string[] = [];
    const reader = new ListPageReader((item) => {
      seen.push(item);
      throw new Error('no room');
    });
    expect(() => reader.push('{"items":[{"a":1},{"b":2}]}')).toThrow('no room');
    expect(seen).toEqual(['{"a":1}']);
  });
});
