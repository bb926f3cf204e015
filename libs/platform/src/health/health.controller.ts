import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { KafkaGateway } from '../kafka/kafka.gateway';
import { DATABASE_PING, DatabasePing } from '../tokens';
import { Public } from '../auth/auth.guard';

/** A dependency that does not answer within this long is reported down (a health check must not hang). */
const HEALTH_PROBE_TIMEOUT_MS = 3_000;

function withTimeout(probe: Promise<void>, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${HEALTH_PROBE_TIMEOUT_MS} ms`)),
      HEALTH_PROBE_TIMEOUT_MS,
    );
  });
  return Promise.race([probe, timeout]).finally(() => clearTimeout(timer));
}

@ApiTags('operations')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(DATABASE_PING) private readonly database: DatabasePing,
    private readonly kafka: KafkaGateway,
  ) {}

  /** 200 when PostgreSQL and Kafka both answer; 503 problem+json naming the one that does not. */
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([
      () => this.probe('database', () => this.database.ping()),
      () => this.probe('kafka', () => this.kafka.ping()),
    ]);
  }

  private async probe(key: string, run: () => Promise<void>) {
    const indicator = this.indicators.check(key);
    try {
      await withTimeout(run(), key);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
