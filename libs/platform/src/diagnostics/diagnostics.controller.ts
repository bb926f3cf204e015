import { Controller, Get, HttpCode, Inject, Logger, Param, Post } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload } from '@nestjs/microservices';
import { ApiAcceptedResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import {
  decodeMessage,
  DiagnosticsMessage,
  diagnosticsEnvelope,
  DIAGNOSTICS_TOPIC,
  PingAnswered,
  PingSent,
  PING_ANSWER_WINDOW_MS,
} from '@medledger/contracts';
import { z } from 'zod';
import { ProblemException } from '../http/problem';
import { KafkaGateway } from '../kafka/kafka.gateway';
import { SERVICE_CONFIG } from '../tokens';
import type { ServiceConfig } from '../config/config';
import { PING_STORE, PingStore, PingView } from './ping-store';
import { Public } from '../auth/auth.guard';

const PingIdParam = z.uuid();

function present(view: PingView) {
  return {
    pingId: view.pingId,
    origin: view.origin,
    sentAt: view.sentAt.toISOString(),
    answers: view.answers.map((a) => ({
      ...a,
      receivedAt: a.receivedAt.toISOString(),
      answeredAt: a.answeredAt.toISOString(),
    })),
  };
}

@ApiTags('diagnostics')
// Operational probes carry no PHI; where a service requires bearer tokens, these stay open.
@Public()
@Controller('v1/diagnostics/pings')
export class DiagnosticsController {
  private readonly logger = new Logger(DiagnosticsController.name);

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(PING_STORE) private readonly store: PingStore,
    private readonly kafka: KafkaGateway,
  ) {}

  /** Sends a ping over Kafka; every other service answers it. Poll the returned location for the answers. */
  @Post()
  @HttpCode(202)
  @ApiAcceptedResponse({ description: 'Ping stored and published' })
  async send() {
    const ping: PingSent = {
      type: 'diagnostics.PingSent',
      pingId: randomUUID(),
      origin: this.config.service,
      sentAt: new Date().toISOString(),
    };
    // Stored before publishing so an answer can never arrive for a ping we do not know.
    await this.store.recordSent(ping);
    const envelope = diagnosticsEnvelope(ping, this.config.service, randomUUID());
    await this.kafka.publish(DIAGNOSTICS_TOPIC, [{ key: ping.pingId, value: JSON.stringify(envelope) }]);
    return { pingId: ping.pingId, sentAt: ping.sentAt, location: `/v1/diagnostics/pings/${ping.pingId}` };
  }

  @Get(':pingId')
  @ApiOkResponse({ description: 'The ping and the answers received so far' })
  @ApiNotFoundResponse({ description: 'DIAGNOSTICS.PING_NOT_FOUND' })
  async find(@Param('pingId') pingId: string) {
    if (!PingIdParam.safeParse(pingId).success) {
      throw new ProblemException(400, 'DIAGNOSTICS.INVALID_PING_ID', 'Invalid ping id', {
        detail: 'pingId must be a UUID',
      });
    }
    const view = await this.store.find(pingId);
    if (!view)
      throw new ProblemException(404, 'DIAGNOSTICS.PING_NOT_FOUND', 'No such ping', {
        detail: `this service sent no ping ${pingId}`,
      });
    return present(view);
  }

  @EventPattern(DIAGNOSTICS_TOPIC)
  async onDiagnosticsEvent(@Payload() bytes: Buffer, @Ctx() context: KafkaContext): Promise<void> {
    const receivedAt = new Date();
    // v2 CloudEvents envelopes, and v1 bare messages (older senders, the topic's history).
    const decoded = decodeMessage(DiagnosticsMessage, bytes);
    if (!decoded.ok) {
      const { code, message } = decoded;
      await this.kafka.deadLetter(
        { topic: context.getTopic(), partition: context.getPartition(), message: context.getMessage() },
        { code, message },
      );
      return;
    }
    const event = decoded.value;
    switch (event.type) {
      case 'diagnostics.PingSent':
        return this.answer(event, receivedAt);
      case 'diagnostics.PingAnswered':
        return this.collect(event, receivedAt);
    }
  }

  private async answer(ping: PingSent, receivedAt: Date): Promise<void> {
    if (ping.origin === this.config.service) return;
    if (receivedAt.getTime() - Date.parse(ping.sentAt) > PING_ANSWER_WINDOW_MS) return;
    const answer: PingAnswered = {
      type: 'diagnostics.PingAnswered',
      pingId: ping.pingId,
      origin: ping.origin,
      answeredBy: this.config.service,
      receivedAt: receivedAt.toISOString(),
      answeredAt: new Date().toISOString(),
    };
    const envelope = diagnosticsEnvelope(answer, this.config.service, randomUUID());
    await this.kafka.publish(DIAGNOSTICS_TOPIC, [{ key: ping.pingId, value: JSON.stringify(envelope) }]);
  }

  private async collect(answer: PingAnswered, receivedBackAt: Date): Promise<void> {
    if (answer.origin !== this.config.service) return;
    if (!(await this.store.find(answer.pingId))) {
      // Another instance's ping, or a forged answer: nothing of ours to attach it to.
      this.logger.warn({ pingId: answer.pingId }, 'answer to an unknown ping ignored');
      return;
    }
    await this.store.recordAnswer(answer, receivedBackAt);
  }
}
