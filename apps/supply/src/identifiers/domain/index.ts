export * from './application-identifiers';
export * from './check-digit';
export * from './digital-link';
export * from './epc-uri';
export * from './result';
