import { kafkaTransportOptions } from '../bootstrap';
import { loadServiceConfig } from '../config/config';
import { ConsumerLifecycle } from './consumer-lifecycle';

describe('ConsumerLifecycle', () => {
  it('lets a crashed consumer restart until the application starts closing, then never again', async () => {
    const lifecycle = new ConsumerLifecycle();
    await expect(lifecycle.restartOnFailure()).resolves.toBe(true);
    lifecycle.onModuleDestroy();
    await expect(lifecycle.restartOnFailure()).resolves.toBe(false);
    await expect(lifecycle.restartOnFailure()).resolves.toBe(false);
  });

  it("is what the service's Kafka consumer asks before a restart, with kafkajs's 5 retries kept", () => {
    const config = loadServiceConfig('records', {
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/medledger_records',
      KAFKA_BROKERS: '127.0.0.1:9092',
    });
    const lifecycle = new ConsumerLifecycle();
    const options = kafkaTransportOptions(config, lifecycle.restartOnFailure) as {
      options: { consumer: { retry: { retries: number; restartOnFailure: unknown } } };
    };
    expect(options.options.consumer.retry).toEqual({ retries: 5, restartOnFailure: lifecycle.restartOnFailure });
  });
});
