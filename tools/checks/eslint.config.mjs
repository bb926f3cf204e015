import baseConfig from '../../eslint.config.mjs';

// The fixtures are deliberate violations, linted only by boundaries.spec.ts as if they lived elsewhere.
export default [...baseConfig, { ignores: ['fixtures/**'] }];
