import type { Projection, Sql, StoredEvent } from '@medledger/event-store';
import { PATIENT_STREAM_TYPE, type PatientEvent } from '../domain/patient';

/** Read model of which patients exist (no PHI), kept in the append's transaction and rebuildable from events. */
export const patientSummaryProjection: Projection<Sql> = {
  name: 'patient-summary',
  streamTypes: [PATIENT_STREAM_TYPE],
  async apply(tx, stored) {
    const event = stored as StoredEvent<PatientEvent>;
    switch (event.type) {
      case 'PatientRegistered':
        await tx.$executeRawUnsafe(
          `INSERT INTO patient_summary (patient_id, version_id, registered_at, last_updated)
           VALUES ($1::uuid, $2, $3::timestamptz, $3::timestamptz)`,
          event.data.patientId,
          event.version,
          event.data.at,
        );
        return;
      case 'PatientUpdated':
        await tx.$executeRawUnsafe(
          `UPDATE patient_summary SET version_id = $2, last_updated = $3::timestamptz WHERE patient_id = $1::uuid`,
          event.data.patientId,
          event.version,
          event.data.at,
        );
        return;
    }
  },
  async reset(tx) {
    await tx.$executeRawUnsafe('DELETE FROM patient_summary');
  },
};
