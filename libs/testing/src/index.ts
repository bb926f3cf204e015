export * from './infra/infrastructure';
export * from './infra/local-kafka';
export * from './infra/migrations';
export * from './infra/postgres';
export * from './suite';
export * from './kafka';
export * from './ledger-process';
export * from './auth';
