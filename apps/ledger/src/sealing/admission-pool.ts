import { Worker } from 'node:worker_threads';
import { SharedNoteDigests } from './shared-note-checks';
import { packValues, unpackVerdicts, type AdmissionSettings, type PackedVerdicts, type Verdict } from './admission';

/**
 * The young generation of each worker's heap. Admission allocates a few kilobytes per event (the parsed envelope,
 * its canonical strings and bytes) that die within the batch; V8's default sizing scavenged often enough to cost
 * the workers ~10 % of their time. 100,000-event runs (npm run bench:ledger): 15,800–16,100 events/s with the
 * default, 17,800–18,100 with 32 or 64 MiB, 15,700 with 128 MiB (docs/perf.md).
 */
const WORKER_YOUNG_GENERATION_MB = 64;

interface Job {
  /** The values posted, which the verdicts refer to (an event received canonical is its value). */
  values: ReadonlyArray<Uint8Array | null>;
  resolve: (verdicts: Verdict[]) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
}

/**
 * Admission on worker threads. Each batch the consumer hands over is split across the workers, packed into one
 * buffer per worker (moved, not copied) and admitted there, so the main thread seals one block while the next
 * batch is checked; the verdicts come back the same way (in one buffer, the canonical bytes of accepted events that
 * were not received canonical; the others are their values). A
 * worker that dies fails its jobs (the ledger then exits and a restart reads the batch again) and is replaced.
 */
export class AdmissionPool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closing = false;

  private readonly settings: AdmissionSettings;

  constructor(
    private readonly file: string,
    size: number,
    settings: AdmissionSettings,
  ) {
    // Each producer batch's signature is verified by one worker, whichever meets it first.
    this.settings = { ...settings, sharedNotes: SharedNoteDigests.allocate() };
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  async admit(values: ReadonlyArray<Uint8Array | null>): Promise<Verdict[]> {
    if (values.length === 0) return [];
    const share = Math.ceil(values.length / this.slots.length);
    const parts = await Promise.all(
      this.slots
        .map((slot, i) => ({ slot, chunk: values.slice(i * share, (i + 1) * share) }))
        .filter(({ chunk }) => chunk.length > 0)
        .map(({ slot, chunk }) => this.run(slot, chunk)),
    );
    return parts.flat();
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private run(slot: Slot, values: ReadonlyArray<Uint8Array | null>): Promise<Verdict[]> {
    const id = this.nextId++;
    const packed = packValues(values);
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { values, resolve, reject });
      slot.worker.postMessage({ id, packed }, [packed.bytes.buffer as ArrayBuffer]);
    });
  }

  private spawn(): Slot {
    const slot: Slot = {
      worker: new Worker(this.file, {
        workerData: this.settings,
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      }),
      jobs: new Map(),
    };
    slot.worker.on('message', ({ id, packed }: { id: number; packed: PackedVerdicts }) => {
      const job = slot.jobs.get(id);
      slot.jobs.delete(id);
      if (job) job.resolve(unpackVerdicts(packed, job.values));
    });
    const fail = (error: Error) => {
      for (const job of slot.jobs.values()) job.reject(error);
      slot.jobs.clear();
      if (this.closing) return;
      const at = this.slots.indexOf(slot);
      if (at >= 0) this.slots[at] = this.spawn();
    };
    slot.worker.once('error', fail);
    slot.worker.once('exit', (code) => fail(new Error(`admission worker exited with ${code}`)));
    return slot;
  }
}
