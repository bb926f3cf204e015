import { requestLogSerializer, withoutQueryValues } from './request-log';

describe('request lines without query values', () => {
  it.each([
    ['/fhir/Observation', '/fhir/Observation'],
    [
      '/fhir/Observation?patient=Patient/abc&code=http://loinc.org|8867-4',
      '/fhir/Observation?patient=[redacted]&code=[redacted]',
    ],
    [
      '/fhir/Condition?onset-date=ge2020-01-01&onset-date=le2021',
      '/fhir/Condition?onset-date=[redacted]&onset-date=[redacted]',
    ],
    ['/v1/verify?gtin=09506000134352&serial=ABC%2F1&', '/v1/verify?gtin=[redacted]&serial=[redacted]'],
    ['/x?flag', '/x?flag=[redacted]'],
    ['/x?a%20b=1', '/x?a%20b=[redacted]'],
    ['/x?%E0%A4%A=1', '/x?%25E0%25A4%25A=[redacted]'],
  ])('%s is logged as %s', (url, logged) => {
    expect(withoutQueryValues(url)).toBe(logged);
  });

  it('drops the parsed query and keeps the rest of the serialized request', () => {
    expect(
      requestLogSerializer({
        id: 'r1',
        method: 'GET',
        url: '/fhir/Observation?code=8867-4',
        query: { code: '8867-4' },
        params: { type: 'Observation' },
      }),
    ).toEqual({ id: 'r1', method: 'GET', url: '/fhir/Observation?code=[redacted]', params: { type: 'Observation' } });
  });
});
