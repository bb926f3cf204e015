module.exports = require('../../tools/build/webpack-app.cjs')('ledger', [
  // The admission worker thread (apps/ledger/src/sealing/admission-pool.ts).
  { entryName: 'admission-worker', entryPath: './src/sealing/admission.worker.ts' },
]);
