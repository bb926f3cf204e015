import { asBytes, originalHeaders } from './kafka.gateway';

// Nest's Kafka transport JSON-parses keys and headers that look like JSON; a dead letter must still be producible.
describe('dead-letter key and headers', () => {
  it('turns a key Nest parsed into an array or object back into its JSON text', () => {
    expect(asBytes([])).toBe('[]');
    expect(asBytes({ a: 1 })).toBe('{"a":1}');
    expect(asBytes('k')).toBe('k');
    const buffer = Buffer.from('k');
    expect(asBytes(buffer)).toBe(buffer);
    expect(asBytes(null)).toBeUndefined();
  });

  it('keeps every header as bytes, drops __proto__, keeps repeated headers', () => {
    const parsed = JSON.parse('{"__proto__":{"admin":true},"x":{"a":1},"y":"v","z":null}') as Record<string, unknown>;
    const headers = originalHeaders({ ...parsed, r: [Buffer.from('1'), '2'] });
    expect(Object.keys(headers).sort()).toEqual(['r', 'x', 'y']);
    expect(headers['x']).toBe('{"a":1}');
    expect(headers['y']).toBe('v');
    expect(headers['r']).toEqual([Buffer.from('1'), '2']);
    for (const value of Object.values(headers).flat())
      expect(Buffer.isBuffer(value) || typeof value === 'string').toBe(true);
  });
});
