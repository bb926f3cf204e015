export * from './catalogue';
export * from './define';
export * from './events';
export * from './messages';
export * from './trials-events';
export * from './supply-events';
