import type { Server } from 'node:http';
import { type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type MicroserviceOptions, Transport } from '@nestjs/microservices';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { logLevel } from 'kafkajs';
import { Logger } from 'nestjs-pino';
import { ConfigError, loadServiceConfig, type ServiceConfig, type ServiceName } from './config/config';
import { ServiceExpressAdapter } from './http/express-adapter';
import { ProblemDetailsFilter } from './http/problem-details.filter';
import { answerClientErrors } from './http/client-errors';
import { ConsumerLifecycle } from './kafka/consumer-lifecycle';
import { kafkaLogCreator } from './kafka/kafka-logging';

/**
 * A process that dies without leaving its consumer group blocks its successor's join until the dead member's
 * session expires and the rebalance gives up on it (kafkajs has no static membership). kafkajs defaults are
 * 30 s and 60 s; measured here, a restarted service waited ~29 s. These bound the pause to ~10 s.
 */
export const CONSUMER_GROUP_TIMEOUTS = {
  sessionTimeout: 10_000,
  rebalanceTimeout: 15_000,
  heartbeatInterval: 1_000,
} as const;

/** `restartOnFailure`: whether kafkajs may restart a crashed consumer (ConsumerLifecycle says no once closing). */
export function kafkaTransportOptions(
  config: ServiceConfig,
  restartOnFailure: () => Promise<boolean>,
): MicroserviceOptions {
  return {
    transport: Transport.KAFKA,
    options: {
      client: {
        clientId: config.KAFKA_CLIENT_ID,
        brokers: config.KAFKA_BROKERS,
        logLevel: logLevel.INFO,
        logCreator: kafkaLogCreator,
      },
      consumer: {
        groupId: config.KAFKA_GROUP_ID,
        allowAutoTopicCreation: false,
        // An idle fetch long-polls this long; shutdown waits for the poll in flight, so keep it short
        // (measured: 5 s default → ~5 s SIGTERM-to-exit; data still returns as soon as it arrives).
        maxWaitTimeInMs: 1_000,
        ...CONSUMER_GROUP_TIMEOUTS,
        // kafkajs's default for consumers (5 retries), plus: no restart once the application is closing.
        retry: { retries: 5, restartOnFailure },
      },
      // Nest appends "-server" to ids by default; ours are exactly what the configuration says.
      postfixId: '',
      // Event-sourced consumers must see every event ever published, not only those after they joined.
      subscribe: { fromBeginning: true },
      // Handlers get the original bytes: they validate them and can dead-letter them unchanged.
      parser: { keepBinary: true },
    },
  };
}

/** How long a service keeps an idle HTTP connection open (see createServiceApp). */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Builds a service's hybrid application (HTTP + Kafka consumer), initialised and consuming but not yet
 * listening on a port. `main.ts` and the integration tests both start services through this.
 */
export async function createServiceApp(rootModule: DynamicModule, config: ServiceConfig): Promise<INestApplication> {
  // bodyParser off: PlatformModule mounts its own (see json-body.ts).
  // Requests built with Express's prototypes from the start (see ServiceExpressAdapter).
  const app = await NestFactory.create(rootModule, new ServiceExpressAdapter(), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new ProblemDetailsFilter());
  const server = app.getHttpServer() as Server;
  answerClientErrors(server);
  // A server that closes an idle keep-alive connection as a client reuses it resets that request (the race of
  // nodejs/undici#3141; undici reuses a connection up to the server's hint less 2 s, so a client whose event loop
  // stalls 2 s races a 5 s default). Idle connections stay open past what clients and proxies keep (60 s is the usual
  // load-balancer idle limit); headersTimeout must exceed it, as Node requires.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  // process.exit(0) after a clean close (instead of re-raising the signal) lets pino flush its last lines.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(`medledger ${config.service}`)
      .setDescription(`Internal HTTP API of the ${config.service} service`)
      .setVersion('1')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  app.connectMicroservice<MicroserviceOptions>(
    kafkaTransportOptions(config, app.get(ConsumerLifecycle).restartOnFailure),
  );
  // Module init (topics created, producer and database connected) before the consumer starts.
  await app.init();
  await app.startAllMicroservices();
  return app;
}

/** A configuration error ends the process with exit code 1 and a message naming every bad variable. */
function exitOnConfigError<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** Entry point of every service: validate config (exit 1 naming every bad variable), start, listen. */
export async function runService(
  service: ServiceName,
  rootModule: (config: ServiceConfig) => DynamicModule,
): Promise<void> {
  const config = exitOnConfigError(() => loadServiceConfig(service, process.env));
  // enableShutdownHooks drains the consumer and flushes the producer on SIGTERM; this bounds how long.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        process.stderr.write(`${service}: shutdown exceeded ${config.SHUTDOWN_TIMEOUT_MS} ms, exiting\n`);
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS).unref();
    });
  }
  const module = exitOnConfigError(() => rootModule(config));
  try {
    const app = await createServiceApp(module, config);
    await app.listen(config.PORT, config.HOST);
    app.get(Logger).log(`${service} listening on http://${config.HOST}:${config.PORT} (docs at /docs)`);
  } catch (error) {
    // Straight to stderr, synchronously: with bufferLogs a start that fails in module init never flushes the
    // logger, and once the app has its (asynchronous) pino logger a line logged here is lost to process.exit, so a
    // service that refuses to start (LEDGER.FOREIGN_SIGNING_KEY, LEDGER.TILES_CORRUPT) would not say why.
    process.stderr.write(
      `${service}: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  }
}
