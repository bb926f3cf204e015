import type { DiagnosticsEvent } from '../diagnostics';
import type { BlockSealedData, UnsignedEnvelope } from '../envelope';
import type { ServiceName } from '../services';
import { createEnvelope } from './catalogue';

/** The v2 envelope of a sealed block. Its id is derived from the block, so a repeated announcement is recognisable. */
export function blockSealedEnvelope(data: BlockSealedData, origin: string, sealedAt: string): UnsignedEnvelope {
  return createEnvelope({
    type: 'ledger.BlockSealed',
    id: `block-${data.height}-${Buffer.from(data.blockHash, 'base64').subarray(0, 8).toString('hex')}`,
    time: sealedAt,
    subject: `${origin}/block/${data.height}`,
    aggregateId: origin,
    aggregateVersion: data.height,
    data,
  });
}

/** The v2 envelope of a diagnostics event sent by `service` (any service pings and answers). */
export function diagnosticsEnvelope(event: DiagnosticsEvent, service: ServiceName, id: string): UnsignedEnvelope {
  const { type, ...data } = event;
  return createEnvelope({
    type,
    id,
    time: new Date().toISOString(),
    subject: `ping/${event.pingId}`,
    aggregateId: event.pingId,
    aggregateVersion: type === 'diagnostics.PingSent' ? 1 : 2,
    source: service,
    data,
  });
}
