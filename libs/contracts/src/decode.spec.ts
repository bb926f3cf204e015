import { decodeMessage, DecodeFailure } from './decode';
import { DIAGNOSTICS_EXAMPLES, DiagnosticsEvent } from './diagnostics';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('decodeMessage', () => {
  it('refuses a payload that is not bytes (Nest passes the message object for a null value) instead of throwing', () => {
    for (const payload of [{ value: null, key: null }, 'text', 1, true]) {
      const decoded = decodeMessage(DiagnosticsEvent, payload as never);
      expect(decoded).toMatchObject({ ok: false, code: DecodeFailure.EMPTY });
    }
  });

  it.each(Object.entries(DIAGNOSTICS_EXAMPLES))('accepts the kept example of %s', (_name, example) => {
    const text = JSON.stringify(example);
    expect(decodeMessage(DiagnosticsEvent, bytes(text))).toEqual({ ok: true, value: example, json: example, text });
  });

  it.each([
    ['no value', null, DecodeFailure.EMPTY],
    ['an empty value', bytes(''), DecodeFailure.EMPTY],
    ['bytes that are not JSON', bytes('{"type":'), DecodeFailure.NOT_JSON],
    ['an unknown event type', bytes('{"type":"diagnostics.Nope"}'), DecodeFailure.SCHEMA_MISMATCH],
    [
      'a ping id that is not a UUID',
      bytes(JSON.stringify({ ...DIAGNOSTICS_EXAMPLES.PingSent, pingId: '42' })),
      DecodeFailure.SCHEMA_MISMATCH,
    ],
    [
      'an unknown service',
      bytes(JSON.stringify({ ...DIAGNOSTICS_EXAMPLES.PingSent, origin: 'billing' })),
      DecodeFailure.SCHEMA_MISMATCH,
    ],
  ])('refuses %s with a stable code', (_case, value, code) => {
    const decoded = decodeMessage(DiagnosticsEvent, value);
    expect(decoded).toMatchObject({ ok: false, code });
  });

  it('says which field is wrong', () => {
    const decoded = decodeMessage(
      DiagnosticsEvent,
      bytes(JSON.stringify({ ...DIAGNOSTICS_EXAMPLES.PingSent, sentAt: 'yesterday' })),
    );
    expect(decoded.ok ? '' : decoded.message).toMatch(/^sentAt: /);
  });
});
