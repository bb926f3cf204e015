export * from './schedule';
export * from './evaluate';
export * from './fairness';
export * from './statement';
