import { ConfigError, loadServiceConfig } from './config';

describe('loadServiceConfig', () => {
  const valid = {
    DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/medledger_records',
    KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.2:9093',
  };

  it('applies the service defaults', () => {
    const config = loadServiceConfig('records', valid);
    expect(config).toMatchObject({ service: 'records', PORT: 3101, KAFKA_GROUP_ID: 'records', LOG_LEVEL: 'info' });
    expect(loadServiceConfig('ledger', valid).KAFKA_GROUP_ID).toBe('ledger.diagnostics');
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092', '127.0.0.2:9093']);
  });

  it('names every missing variable at once', () => {
    let error: unknown;
    try {
      loadServiceConfig('ledger', {});
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual(['DATABASE_URL', 'KAFKA_BROKERS']);
    expect((error as ConfigError).message).toContain('DATABASE_URL: is required but not set');
  });

  it.each([
    ['DATABASE_URL', { DATABASE_URL: 'mysql://root@localhost/x' }],
    ['DATABASE_URL', { DATABASE_URL: 'postgresql://host-without-database' }],
    ['KAFKA_BROKERS', { KAFKA_BROKERS: 'localhost' }],
    ['KAFKA_BROKERS', { KAFKA_BROKERS: ' , ' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: 'http' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
  ])('rejects a malformed %s', (variable, override) => {
    expect(() => loadServiceConfig('supply', { ...valid, ...override })).toThrow(new RegExp(`- ${variable}: `));
  });
});
