import { DynamicModule, Inject, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DIAGNOSTICS_TOPIC } from '@medledger/contracts';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import type { ServiceConfig } from './config/config';
import { DiagnosticsController } from './diagnostics/diagnostics.controller';
import { DiagnosticsPrisma, PING_STORE, PrismaPingStore } from './diagnostics/ping-store';
import { jsonBodyParser, type BodyLimit } from './http/json-body';
import { refuseNulInUrl } from './http/nul-in-url';
import { requestLogSerializer } from './http/request-log';
import { HealthController } from './health/health.controller';
import { KAFKA_TOPICS, KafkaGateway } from './kafka/kafka.gateway';
import { ConsumerLifecycle } from './kafka/consumer-lifecycle';
import { HttpMetricsMiddleware, MetricsController, MetricsRegistry } from './metrics/metrics';
import { PRISMA, PrismaClientLike, providePrisma } from './prisma/prisma';
import { SERVICE_CONFIG } from './tokens';
import type { PrismaPg } from '@prisma/adapter-pg';

export const REQUEST_ID_HEADER = 'x-request-id';
const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;

/**
 * The request id: the caller's `x-request-id` when well-formed (so one id follows a request across
 * services), else a new UUID; echoed in the response. Idempotent, because both the request logger and our
 * own middleware call it and their order is Nest's to choose.
 */
export function assignRequestId(request: IncomingMessage & { id?: unknown }, response: ServerResponse): string {
  if (typeof request.id === 'string') return request.id;
  const given = request.headers[REQUEST_ID_HEADER];
  const id = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  request.id = id;
  response.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

function requestIdMiddleware(request: IncomingMessage, response: ServerResponse, next: () => void): void {
  assignRequestId(request, response);
  next();
}

/** The levels at which pino-http's request lines (info) are written. */
const REQUEST_LOG_LEVELS: readonly string[] = ['info', 'debug', 'trace'];

export interface PlatformOptions {
  config: ServiceConfig;
  /** The service's own generated Prisma client, built on the adapter the platform supplies. */
  prisma: (adapter: PrismaPg) => PrismaClientLike & DiagnosticsPrisma;
  /** Topics the service publishes to or consumes besides the platform's own. */
  topics?: readonly string[];
  /** Routes whose JSON bodies may be larger than HTTP_BODY_LIMIT (records' `POST /fhir` Bundles). */
  bodyLimits?: readonly BodyLimit[];
}

const BODY_LIMITS = Symbol('BODY_LIMITS');

/**
 * What every medledger service has: validated config, JSON logs with a request id, /health, /metrics,
 * problem+json errors, its Prisma client, a Kafka producer, and the diagnostics ping.
 */
@Module({})
export class PlatformModule implements NestModule {
  static forRoot(options: PlatformOptions): DynamicModule {
    const { config } = options;
    return {
      module: PlatformModule,
      global: true,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.LOG_LEVEL,
            base: { service: config.service },
            genReqId: assignRequestId,
            redact: ['req.headers.authorization', 'req.headers.cookie'],
            // Query parameter names, never their values (http/request-log.ts).
            serializers: { req: requestLogSerializer },
            // Request lines are logged at info: above that level pino-http would build each one to drop it.
            autoLogging: REQUEST_LOG_LEVELS.includes(config.LOG_LEVEL)
              ? { ignore: (request) => request.url === '/health' || request.url === '/metrics' }
              : false,
          },
        }),
        TerminusModule.forRoot({ errorLogStyle: 'json' }),
      ],
      controllers: [HealthController, MetricsController, DiagnosticsController],
      providers: [
        { provide: SERVICE_CONFIG, useValue: config },
        { provide: BODY_LIMITS, useValue: options.bodyLimits ?? [] },
        { provide: KAFKA_TOPICS, useValue: [DIAGNOSTICS_TOPIC, ...(options.topics ?? [])] },
        KafkaGateway,
        ConsumerLifecycle,
        MetricsRegistry,
        ...providePrisma(options.prisma),
        {
          provide: PING_STORE,
          inject: [PRISMA],
          useFactory: (prisma: DiagnosticsPrisma) => new PrismaPingStore(prisma),
        },
      ],
      exports: [SERVICE_CONFIG, KafkaGateway, ConsumerLifecycle, MetricsRegistry, PRISMA],
    };
  }

  constructor(@Inject(BODY_LIMITS) private readonly bodyLimits: readonly BodyLimit[]) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(requestIdMiddleware, HttpMetricsMiddleware, refuseNulInUrl, jsonBodyParser(this.bodyLimits))
      .forRoutes('*');
  }
}
