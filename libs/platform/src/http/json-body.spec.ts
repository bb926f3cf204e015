import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jsonBodyParser, loneSurrogateAt } from './json-body';
import { ProblemException } from './problem';

describe('loneSurrogateAt', () => {
  it.each([
    ['a lone high surrogate in a string', { name: [{ family: 'a\ud800' }] }, '/name/0/family'],
    ['a lone low surrogate in a string', ['ok', '\udc00b'], '/1'],
    ['a high surrogate at the end', { a: { 'b/c~': 'x\udbff' } }, '/a/b~1c~0'],
    ['a lone surrogate in a member name', { ok: 1, ['k\ud800']: true }, '/k\ud800'],
  ])('finds %s', (_case, value, pointer) => {
    expect(loneSurrogateAt(value)).toBe(pointer);
  });

  it('passes well-formed text, pairs included, and non-strings', () => {
    expect(loneSurrogateAt({ emoji: '😀 \ud83d\ude00', n: 1, b: null, t: true, l: ['é', '\u0000'] })).toBeUndefined();
    expect(loneSurrogateAt('plain')).toBeUndefined();
  });

  it('walks nesting deeper than the call stack', () => {
    const depth = 200_000;
    const deep = JSON.parse(`${'['.repeat(depth)}"\\udfff"${']'.repeat(depth)}`) as unknown;
    expect(loneSurrogateAt(deep)).toBe('/0'.repeat(depth));
  });
});

describe('jsonBodyParser', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const app = express();
    app.use(jsonBodyParser());
    app.post('/echo', (request, response) => response.json(request.body));
    app.use((error: unknown, _request: express.Request, response: express.Response, _next: express.NextFunction) => {
      const problem = error instanceof ProblemException ? error : undefined;
      response.status(problem?.getStatus() ?? 500).json(problem?.getResponse() ?? { error: String(error) });
    });
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const post = (body: string) =>
    fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('refuses a body with an escaped lone surrogate, naming where', async () => {
    const response = await post('{"name":[{"family":"Smith\\ud800"}]}');
    expect(response.status).toBe(400);
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ code: 'HTTP.MALFORMED_JSON' });
    expect(problem['detail']).toContain("'/name/0/family'");
  });

  it('accepts escaped surrogate pairs and text that merely looks like an escape', async () => {
    for (const body of ['{"e":"\\ud83d\\ude00"}', '{"e":"\\\\ud800"}', '{"e":"\\uD83D\\uDE00 ok"}']) {
      const response = await post(body);
      expect([response.status, await response.json()]).toEqual([200, JSON.parse(body)]);
    }
  });
});
