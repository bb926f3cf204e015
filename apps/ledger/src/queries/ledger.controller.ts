import { Controller, Get, Header, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ProblemException } from '@medledger/platform';
import { LedgerQueries } from './ledger.queries';

/** Most leaves or blocks one request returns; clients page with start/end or from/limit. */
export const MAX_PAGE = 1_000;

/**
 * Most event ids one `GET /v1/blocks/{height}/proofs` takes: 200 UUIDs are ≈ 7.4 KB of query string, under Node's
 * 16 KiB limit for a request head; a service with more events in one block asks again.
 */
export const MAX_PROOF_EVENTS = 200;

const INTEGER = /^(0|[1-9]\d{0,15})$/;

function integer(name: string, raw: string | undefined, fallback?: number): number {
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new ProblemException(400, 'LEDGER.MISSING_PARAMETER', 'Missing parameter', { detail: `${name} is required` });
  }
  if (!INTEGER.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new ProblemException(400, 'LEDGER.INVALID_PARAMETER', 'Invalid parameter', {
      detail: `${name} must be a non-negative integer, got "${raw.slice(0, 40)}"`,
    });
  }
  return Number(raw);
}

/** The public, read-only face of the log: checkpoints, blocks, leaves, proofs and keys. */
@ApiTags('ledger')
@Controller('v1')
export class LedgerController {
  constructor(private readonly queries: LedgerQueries) {}

  @Get('checkpoint')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiQuery({
    name: 'witnessed',
    required: false,
    description: 'the newest checkpoint cosigned by at least this many witnesses (ADR 0012)',
  })
  @ApiOkResponse({
    description:
      'The latest signed checkpoint: a C2SP signed note over a tlog-checkpoint body, followed by the witness cosignatures collected for it',
  })
  checkpoint(@Query('witnessed') witnessed?: string): Promise<string> {
    return this.queries.checkpoint(witnessed === undefined ? undefined : integer('witnessed', witnessed));
  }

  @Get('blocks')
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'limit', required: false })
  blocks(@Query('from') from?: string, @Query('limit') limit?: string) {
    const count = integer('limit', limit, 100);
    if (count < 1 || count > MAX_PAGE) {
      throw new ProblemException(400, 'LEDGER.INVALID_PARAMETER', 'Invalid parameter', {
        detail: `limit must be 1..${MAX_PAGE}`,
      });
    }
    return this.queries.blocks(integer('from', from, 0), count);
  }

  /** Declared before blocks/:height, which would take "latest" for a height. */
  @Get('blocks/latest')
  @ApiOkResponse({ description: 'The newest block with its checkpoint: when the latest checkpoint was signed' })
  latestBlock() {
    return this.queries.latestBlock();
  }

  @Get('blocks/:height')
  block(@Param('height') height: string) {
    return this.queries.block(integer('height', height));
  }

  @Get('blocks/:height/proofs')
  @ApiQuery({ name: 'events', required: true, description: `comma-separated event ids, at most ${MAX_PROOF_EVENTS}` })
  @ApiOkResponse({
    description:
      "The block, its checkpoint, and each named event's leaf and inclusion proof at the block's tree size (receipts)",
  })
  blockProofs(@Param('height') height: string, @Query('events') events?: string | string[]) {
    // ?events=a,b and ?events=a&events=b alike.
    const ids = [events ?? []]
      .flat()
      .flatMap((value) => value.split(','))
      .filter(Boolean);
    return this.queries.blockProofs(integer('height', height), ids);
  }

  @Get('leaves')
  @ApiQuery({ name: 'start', required: true })
  @ApiQuery({ name: 'end', required: true, description: 'exclusive' })
  leaves(@Query('start') start?: string, @Query('end') end?: string) {
    return this.queries.leaves(integer('start', start), integer('end', end));
  }

  @Get('events/:eventId')
  event(@Param('eventId') eventId: string) {
    // PostgreSQL refuses a NUL in text (22021): it reached the query and answered 500 (npm run chaos, hostile-input).
    if (eventId.includes('\u0000') || eventId.length > 256)
      throw new ProblemException(400, 'LEDGER.INVALID_PARAMETER', 'Invalid parameter', {
        detail: 'eventId must be at most 256 characters, without NUL',
      });
    return this.queries.event(eventId);
  }

  @Get('proofs/inclusion')
  @ApiQuery({ name: 'index', required: true })
  @ApiQuery({ name: 'treeSize', required: true })
  inclusion(@Query('index') index?: string, @Query('treeSize') treeSize?: string) {
    return this.queries.inclusionProof(integer('index', index), integer('treeSize', treeSize));
  }

  @Get('proofs/consistency')
  @ApiQuery({ name: 'from', required: true })
  @ApiQuery({ name: 'to', required: true })
  consistency(@Query('from') from?: string, @Query('to') to?: string) {
    return this.queries.consistencyProof(integer('from', from), integer('to', to));
  }

  @Get('keys')
  keys() {
    return this.queries.keys();
  }
}
