import { z } from 'zod';

/** The four medledger services; also the `source` of every event they publish. */
export const SERVICE_NAMES = ['ledger', 'records', 'trials', 'supply'] as const;
export const ServiceName = z.enum(SERVICE_NAMES);
export type ServiceName = z.infer<typeof ServiceName>;
