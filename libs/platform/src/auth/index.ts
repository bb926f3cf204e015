export * from './actor';
export * from './auth.config';
export * from './auth.guard';
export * from './auth.module';
export * from './tokens';
