// readListPage against a bare HTTPS server that sends its body in pieces of the test's choosing.
import { KubeConfig } from '@kubernetes/client-node';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readListPage, releaseConnections } from '../../src/cluster/api';
import { makeTestCertificate } from '../helpers/tls';

const tls = makeTestCertificate();
let server: https.Server;
let kubeConfig: KubeConfig;
/** What the server answers next: a status and the body's pieces, written one event-loop turn apart. */
let answer: { status: number; pieces: Buffer[] };
/** Settles when the server is done with the last response: all of it sent, or the client gone. */
let answered: Promise<void> = Promise.resolve();

beforeAll(async () => {
  server = https.createServer({ cert: tls.cert, key: tls.key }, (_request, response) => {
    const { status, pieces } = answer;
    answered = new Promise((resolve) => response.on('close', resolve));
    response.writeHead(status, { 'Content-Type': 'application/json' });
    const write = (index: number): void => {
      if (index === pieces.length || response.destroyed) {
        response.end();
        return;
      }
      response.write(pieces[index], () => setTimeout(() => write(index + 1), 5));
    };
    write(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caData: Buffer.from(tls.cert).toString('base64') }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
});

afterAll(async () => {
  releaseConnections(kubeConfig);
  await new Promise((resolve) => server.close(resolve));
});

const PATH = '/api/v1/pods?limit=500';
const PAGE = Buffer.from('{"kind":"PodList","metadata":{"resourceVersion":"9","continue":"next"},"items":[{"name":"zoë"},{"name":"b"}]}');

function cutAt(bytes: Buffer, ...offsets: number[]): Buffer[] {
  return [0, ...offsets].map((start, index) => bytes.subarray(start, [...offsets, bytes.length][index]));
}

async function read(): Promise<{ items: string[]; result: unknown }> {
  const items: string[] = [];
  const result = await readListPage(kubeConfig, PATH, (item) => items.push(item)).catch((error: unknown) => error);
  return { items, result };
}

describe('readListPage', () => {
  it('hands on the items of a page that arrives cut inside an item and inside a character, then answers its metadata', async () => {
    const insideE = PAGE.indexOf('ë') + 1; // between the two bytes of ë
    answer = { status: 200, pieces: cutAt(PAGE, 40, insideE, insideE + 6) };
    const { items, result } = await read();
    expect(items).toEqual(['{"name":"zoë"}', '{"name":"b"}']);
    expect(result).toEqual({ metadata: { resourceVersion: '9', continue: 'next' } });
  });

  it('fails naming the request when the item handler throws, and hands on nothing after', async () => {
    // The first item ends in the second piece; the second item ends in the third, which the
    // server sends after the handler has thrown.
    const secondItem = PAGE.indexOf('{"name":"b"}');
    answer = { status: 200, pieces: cutAt(PAGE, secondItem - 4, secondItem + 4) };
    const items: string[] = [];
    const failure = readListPage(kubeConfig, PATH, (item) => {
      items.push(item);
      throw new Error('invalid JSON in a list item: broken');
    });
    await expect(failure).rejects.toThrow(`GET ${PATH}: invalid JSON in a list item: broken`);
    await answered;
    expect(items).toEqual(['{"name":"zoë"}']);
  });

  it('fails when a 200 answer ends inside the list', async () => {
    answer = { status: 200, pieces: [PAGE.subarray(0, PAGE.length - 3)] };
    const { result } = await read();
    expect(String(result)).toMatch(new RegExp(`^ApiError: GET ${PATH.replace('?', '\\?')}: invalid list JSON at offset \\d+: the response ended inside the list`));
  });

  it('reads an error answer as a Status, never as items', async () => {
    answer = { status: 410, pieces: [Buffer.from('{"kind":"Status","status":"Failure","reason":"Expired","message":"too old","items":[{"x":1}]}')] };
    const { items, result } = await read();
    expect(items).toEqual([]);
    expect(result).toMatchObject({ status: 410, reason: 'Expired', message: `GET ${PATH}: HTTP 410 Expired: too old` });
  });
});
