import { Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ProblemException, Public } from '@medledger/platform';
import { WitnessService } from './witness.service';

/**
 * Largest add-checkpoint body read: 63 proof lines of 45 bytes, the `old` line, and a checkpoint note of at most
 * 16 signature lines (NOTE_MAX_SIGNATURES) fit in a few KiB; anything longer is not a request of the spec.
 */
export const ADD_CHECKPOINT_MAX_BYTES = 64 * 1024;

async function readText(request: Request): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > ADD_CHECKPOINT_MAX_BYTES)
      throw new ProblemException(413, 'HTTP.PAYLOAD_TOO_LARGE', 'The request body is too large', {
        detail: `limit ${ADD_CHECKPOINT_MAX_BYTES} bytes`,
      });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The witness API (C2SP tlog-witness), internal: the ledger calls it after each block. No token, as the spec says
 * ("no authentication of requests beyond the validation of the signature on the checkpoint"): what it cosigns is
 * only ever a checkpoint signed by the pinned ledger key and consistent with what it cosigned before.
 */
@ApiTags('witness')
@Controller('witness')
export class WitnessController {
  constructor(private readonly witness: WitnessService) {}

  @Post('add-checkpoint')
  @Public()
  @ApiOperation({
    summary: 'C2SP tlog-witness add-checkpoint: cosigns a ledger checkpoint given a consistency proof (text body)',
  })
  async addCheckpoint(@Req() request: Request, @Res() response: Response): Promise<void> {
    const answer = await this.witness.addCheckpoint(await readText(request));
    response.status(answer.status).type(answer.contentType).send(answer.body);
  }

  @Get(':originHash/checkpoint')
  @Public()
  @ApiOperation({ summary: 'The last checkpoint this witness cosigned for the log of that origin hash (hex SHA-256)' })
  async checkpoint(@Param('originHash') originHash: string, @Res() response: Response): Promise<void> {
    const checkpoint = await this.witness.checkpoint(originHash);
    if (checkpoint === undefined)
      throw new ProblemException(404, 'WITNESS.NOT_COSIGNED', 'Nothing cosigned', {
        detail: 'this witness has cosigned no checkpoint of that log',
      });
    response.status(200).type('text/plain; charset=utf-8').send(checkpoint);
  }
}
