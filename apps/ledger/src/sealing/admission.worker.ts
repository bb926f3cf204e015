/**
 * An admission worker thread (dist/apps/ledger/admission-worker.js, a webpack entry of its own): admits the
 * batches the sequencer's consumer posts, while the main thread seals. See AdmissionPool.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OriginVerifier } from '@medledger/ledger-core';
import { admitPacked, packVerdicts, type AdmissionSettings, type PackedValues } from './admission';
import { SharedNoteDigests } from './shared-note-checks';

const settings = workerData as AdmissionSettings;
const shared = settings.sharedNotes && new SharedNoteDigests(settings.sharedNotes);
const origin = new OriginVerifier(settings.producerKeys, shared);

parentPort?.on('message', (job: { id: number; packed: PackedValues }) => {
  const packed = packVerdicts(admitPacked(job.packed, settings.maxBytes, origin));
  parentPort?.postMessage({ id: job.id, packed }, [packed.canonical.bytes.buffer as ArrayBuffer]);
});
