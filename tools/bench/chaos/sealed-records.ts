/**
 * records sealed by a ledger of its own ({@link startSealedService}), with clients that register patients as a
 * practitioner. For the scenarios that break the producing side (service-kill, restarts, forged-announcement).
 */
import { randomBytes } from 'node:crypto';
import { sleep } from '../common';
import { type AppProcess, type ChaosContext } from './harness';
import { startSealedService, type SealedService } from './sealed-service';

export interface SealedRecords extends SealedService {
  records: AppProcess;
  recordsUrl: string;
  /** Registers a patient; the command's event id when acknowledged (201), else undefined. Never throws. */
  register(): Promise<string | undefined>;
}

export async function startSealedRecords(context: ChaosContext, name: string): Promise<SealedRecords> {
  const stack = await startSealedService(context, name, 'records', {
    RECORDS_MASTER_KEY: randomBytes(32).toString('base64'),
  });
  const token = await stack.token('Practitioner/chaos-dr', 'practitioner');
  return {
    ...stack,
    records: stack.app,
    recordsUrl: stack.databaseUrl,
    async register() {
      try {
        const response = await fetch(`${stack.app.baseUrl}/fhir/Patient`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'Patient', birthDate: '1970-05-05' }),
          signal: AbortSignal.timeout(30_000),
        });
        await response.text();
        const eventId = response.headers.get('x-medledger-event-id');
        return response.status === 201 && eventId ? eventId : undefined;
      } catch {
        await sleep(100);
        return undefined;
      }
    },
  };
}
