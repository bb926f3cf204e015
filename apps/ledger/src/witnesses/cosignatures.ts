import { Inject, Injectable } from '@nestjs/common';
import { PRISMA } from '@medledger/platform';
import type { Cosignature } from '@medledger/ledger-core';
import type { PrismaClient } from '../generated/prisma/client';
import type { StoredBlock } from '../sealing/ledger.repository';

/**
 * The cosignatures the ledger collected (ADR 0012), by tree size. They are not part of any block or its hash: a
 * checkpoint is served as the ledger-signed note followed by the cosignature lines stored for its tree size.
 */
@Injectable()
export class CosignatureStore {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  async store(block: StoredBlock, cosignatures: readonly Cosignature[], at: Date): Promise<void> {
    // A witness asked again for the same size (after a 409) may answer with a new timestamp: the first one stays.
    await this.prisma.witnessCosignature.createMany({
      data: cosignatures.map((c) => ({
        treeSize: BigInt(block.treeSize),
        keyId: c.keyId,
        witness: c.name,
        blockHeight: BigInt(block.height),
        timestamp: BigInt(c.timestamp),
        line: c.line,
        receivedAt: at,
      })),
      skipDuplicates: true,
    });
  }

  /** The block's checkpoint note with the cosignature lines stored for its tree size appended. */
  async cosigned(block: StoredBlock): Promise<string> {
    const rows = await this.prisma.witnessCosignature.findMany({
      where: { treeSize: BigInt(block.treeSize) },
      orderBy: { keyId: 'asc' },
      select: { line: true },
    });
    return block.checkpoint + rows.map((row) => row.line).join('');
  }

  /** The height of the newest block whose checkpoint at least `quorum` witness keys cosigned, if any. */
  async newestWitnessed(quorum: number): Promise<number | undefined> {
    const rows = await this.prisma.$queryRaw<Array<{ block_height: bigint }>>`
      SELECT max(block_height) AS block_height FROM witness_cosignature
       GROUP BY tree_size HAVING count(*) >= ${quorum} ORDER BY tree_size DESC LIMIT 1`;
    const height = rows[0]?.block_height;
    return height === undefined || height === null ? undefined : Number(height);
  }
}
