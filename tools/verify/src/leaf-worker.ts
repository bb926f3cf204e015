/**
 * A leaf-checking worker thread (leaf-pool.ts): checks the leaf lines of one chunk of a bundle's leaves section.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkLeafChunk, type LeafChunk, type LeafWorkerSettings } from './leaf-chunk';
import { ProducerCheck } from './producers';

const settings = workerData as LeafWorkerSettings;
const producers = settings.producerKeys ? new ProducerCheck(settings.producerKeys) : undefined;

parentPort?.on('message', (chunk: LeafChunk) => {
  const checks = checkLeafChunk(chunk, producers);
  parentPort?.postMessage(checks, [checks.hashes.buffer as ArrayBuffer]);
});
