import type { PingAnswered, PingSent, ServiceName } from '@medledger/contracts';

export const PING_STORE = Symbol('PING_STORE');

export interface PingView {
  pingId: string;
  origin: ServiceName;
  sentAt: Date;
  answers: Array<{ service: ServiceName; receivedAt: Date; answeredAt: Date; roundTripMs: number }>;
}

/** Where a service keeps the pings it sent and the answers it got (its own database). */
export interface PingStore {
  recordSent(ping: PingSent): Promise<void>;
  /** Idempotent: a redelivered answer changes nothing. */
  recordAnswer(answer: PingAnswered, receivedBackAt: Date): Promise<void>;
  find(pingId: string): Promise<PingView | null>;
}

/** Structural view of the two Prisma models every service declares (`DiagnosticPing`, `DiagnosticAnswer`). */
export interface DiagnosticsPrisma {
  diagnosticPing: {
    create(args: { data: { id: string; origin: string; sentAt: Date } }): Promise<unknown>;
    findUnique(args: { where: { id: string }; include: { answers: true } }): Promise<{
      id: string;
      origin: string;
      sentAt: Date;
      answers: Array<{ service: string; receivedAt: Date; answeredAt: Date; receivedBackAt: Date }>;
    } | null>;
  };
  diagnosticAnswer: {
    createMany(args: {
      data: Array<{ pingId: string; service: string; receivedAt: Date; answeredAt: Date; receivedBackAt: Date }>;
      skipDuplicates: true;
    }): Promise<unknown>;
  };
}

export class PrismaPingStore implements PingStore {
  constructor(private readonly prisma: DiagnosticsPrisma) {}

  async recordSent(ping: PingSent): Promise<void> {
    await this.prisma.diagnosticPing.create({
      data: { id: ping.pingId, origin: ping.origin, sentAt: new Date(ping.sentAt) },
    });
  }

  async recordAnswer(answer: PingAnswered, receivedBackAt: Date): Promise<void> {
    await this.prisma.diagnosticAnswer.createMany({
      data: [
        {
          pingId: answer.pingId,
          service: answer.answeredBy,
          receivedAt: new Date(answer.receivedAt),
          answeredAt: new Date(answer.answeredAt),
          receivedBackAt,
        },
      ],
      skipDuplicates: true,
    });
  }

  async find(pingId: string): Promise<PingView | null> {
    const row = await this.prisma.diagnosticPing.findUnique({ where: { id: pingId }, include: { answers: true } });
    if (!row) return null;
    return {
      pingId: row.id,
      origin: row.origin as ServiceName,
      sentAt: row.sentAt,
      answers: row.answers
        .map((a) => ({
          service: a.service as ServiceName,
          receivedAt: a.receivedAt,
          answeredAt: a.answeredAt,
          roundTripMs: a.receivedBackAt.getTime() - row.sentAt.getTime(),
        }))
        .sort((a, b) => a.service.localeCompare(b.service)),
    };
  }
}
