import { Agent, get, type IncomingHttpHeaders } from 'node:http';
import type { Producer } from 'kafkajs';
import { DIAGNOSTICS_TOPIC, DiagnosticsMessage, type PingAnswered } from '@medledger/contracts';
import {
  eventually,
  jsonOf,
  recordTopics,
  startService,
  testProducer,
  type RunningService,
  type TopicRecorder,
} from '@medledger/testing';
import { KEEP_ALIVE_TIMEOUT_MS } from '@medledger/platform';
import { RecordsModule } from '../src/app.module';

/** The records service through its public HTTP API, with Kafka and PostgreSQL real. */
describe('records service', () => {
  let records: RunningService;
  let producer: Producer;
  let recorder: TopicRecorder;
  const pings = () =>
    recorder.messages.flatMap((m) => {
      const parsed = DiagnosticsMessage.safeParse(jsonOf(m.message.value));
      return parsed.success && parsed.data.type === 'diagnostics.PingSent' ? [parsed.data] : [];
    });

  beforeAll(async () => {
    records = await startService('records', (config) => RecordsModule.forRoot(config));
    producer = await testProducer();
    recorder = await recordTopics([DIAGNOSTICS_TOPIC]);
  });

  afterAll(async () => {
    await Promise.all([recorder?.stop(), producer?.disconnect()]);
    await records?.close();
  });

  const http = (path: string, init?: RequestInit) => fetch(records.baseUrl + path, init);

  it('reports database and Kafka healthy', async () => {
    const response = await http('/health');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; details: Record<string, { status: string }> };
    expect(body.status).toBe('ok');
    expect(body.details['database']?.status).toBe('up');
    expect(body.details['kafka']?.status).toBe('up');
  });

  it('publishes a ping to Kafka and records the answers that come back', async () => {
    const sent = await http('/v1/diagnostics/pings', { method: 'POST' });
    expect(sent.status).toBe(202);
    const { pingId, location } = (await sent.json()) as { pingId: string; location: string };

    const published = await eventually(async () => pings().find((p) => p.pingId === pingId));
    expect(published.origin).toBe('records');

    const answer: PingAnswered = {
      type: 'diagnostics.PingAnswered',
      pingId,
      origin: 'records',
      answeredBy: 'trials',
      receivedAt: new Date().toISOString(),
      answeredAt: new Date().toISOString(),
    };
    // Delivered twice: the second copy must change nothing.
    await producer.send({
      topic: DIAGNOSTICS_TOPIC,
      messages: [
        { key: pingId, value: JSON.stringify(answer) },
        { key: pingId, value: JSON.stringify(answer) },
      ],
    });

    const view = await eventually(async () => {
      const body = (await (await http(location)).json()) as {
        answers: Array<{ service: string; roundTripMs: number }>;
      };
      return body.answers.some((a) => a.service === 'trials') ? body : undefined;
    });
    // Services of other suites running at the same time may answer too; the redelivered copy must not count.
    const fromTrials = view.answers.filter((a) => a.service === 'trials');
    expect(fromTrials).toHaveLength(1);
    expect(fromTrials[0]?.roundTripMs).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['an unknown route', '/v1/nowhere', undefined, 404, 'HTTP.ROUTE_NOT_FOUND'],
    [
      'an unknown ping',
      '/v1/diagnostics/pings/6f1d1c7e-0a55-4c55-9d7e-3b2c1f0e9a88',
      undefined,
      404,
      'DIAGNOSTICS.PING_NOT_FOUND',
    ],
    ['a malformed ping id', '/v1/diagnostics/pings/not-a-uuid', undefined, 400, 'DIAGNOSTICS.INVALID_PING_ID'],
    ['a NUL in the URL', '/v1/diagnostics/pings/a%00b', undefined, 400, 'HTTP.NUL_IN_URL'],
    [
      'a malformed JSON body',
      '/v1/diagnostics/pings',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"oops":' },
      400,
      'HTTP.MALFORMED_JSON',
    ],
    [
      'a FHIR resource with a lone surrogate (RFC 7493 §2.1)',
      '/fhir/Patient',
      {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: '{"resourceType":"Patient","name":[{"family":"\\ud800"}]}',
      },
      400,
      'HTTP.MALFORMED_JSON',
    ],
  ])('answers %s with problem+json', async (_case, path, init, status, code) => {
    const response = await http(path, init);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status, code, instance: path });
    expect(problem['requestId']).toEqual(response.headers.get('x-request-id'));
  });

  it('keeps the caller request id', async () => {
    const response = await http('/health', { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(response.headers.get('x-request-id')).toBe('trace-abc.123');
  });

  it('keeps idle connections open longer than clients and load balancers do (no reset as a client reuses one)', async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
        get(`${records.baseUrl}/health`, { agent }, (response) => {
          response.resume();
          resolve(response.headers);
        }).on('error', reject);
      });
      expect([headers['connection'], headers['keep-alive']]).toEqual([
        'keep-alive',
        `timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}`,
      ]);
      expect(KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThan(60_000);
    } finally {
      agent.destroy();
    }
  });

  it('serves Prometheus metrics and the OpenAPI document', async () => {
    const metrics = await (await http('/metrics')).text();
    expect(metrics).toMatch(/^http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} \d+/m);
    const openapi = (await (await http('/docs/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/health', '/v1/diagnostics/pings', '/v1/diagnostics/pings/{pingId}']),
    );
  });
});
