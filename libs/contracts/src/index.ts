export * from './services';
export * from './diagnostics';
export * from './decode';
export * from './envelope';
export * from './catalogue';
