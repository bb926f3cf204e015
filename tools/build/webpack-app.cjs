// The one webpack configuration of every service (apps/<service>/webpack.config.js calls it): a Node bundle
// with a generated package.json of its production dependencies, in dist/apps/<service>.
const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('path');

// `additionalEntryPoints`: further bundles beside main.js, e.g. a worker thread's
// ([{ entryName: 'admission-worker', entryPath: './src/sealing/admission.worker.ts' }] -> admission-worker.js).
module.exports = function serviceWebpackConfig(service, additionalEntryPoints = []) {
  return {
    output: {
      path: join(__dirname, '../../dist/apps', service),
      clean: true,
      ...(process.env.NODE_ENV !== 'production' && { devtoolModuleFilenameTemplate: '[absolute-resource-path]' }),
    },
    plugins: [
      new NxAppWebpackPlugin({
        target: 'node',
        compiler: 'tsc',
        main: './src/main.ts',
        additionalEntryPoints,
        tsConfig: './tsconfig.app.json',
        optimization: false,
        outputHashing: 'none',
        generatePackageJson: true,
        sourceMap: true,
      }),
    ],
  };
};
