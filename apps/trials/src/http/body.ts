import type { z } from 'zod';
import { invalid } from '../trials.service';

/** A request body (or parameter) checked against its schema: 400 TRIALS.INVALID_REQUEST with every issue. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success)
    invalid(
      'the body does not match the schema',
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message })),
    );
  return parsed.data;
}
