import { z } from 'zod';
import { EVENT_CATALOGUE } from './catalogue';

/**
 * Public events never carry PHI. A field whose name looks like PHI fails here unless its definition lists it in
 * `phiAllowed` with the reason. Names after HIPAA §164.514(b)(2) identifiers and FHIR's Patient/HumanName elements.
 */
const PHI_NAMES = [
  /name/i,
  /^given$/i,
  /^family$/i,
  /birth/i,
  /address/i,
  /telecom/i,
  /phone/i,
  /e-?mail/i,
  /^text$/i,
  /note/i,
  /ssn|social/i,
  /gender/i,
  /postal|zip/i,
  /photo/i,
  /comment/i,
  /narrative/i,
];

function fieldPaths(schema: unknown, prefix = ''): string[] {
  const node = schema as { properties?: Record<string, unknown>; items?: unknown };
  const out: string[] = [];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    out.push(`${prefix}${name}`, ...fieldPaths(child, `${prefix}${name}.`));
  }
  if (node.items) out.push(...fieldPaths(node.items, `${prefix}`));
  return out;
}

function keysOf(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => keysOf(item, prefix));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keysOf(v, `${prefix}${k}.`)]);
}

const definitions = EVENT_CATALOGUE.types().flatMap((type) => EVENT_CATALOGUE.versions(type));

describe.each(definitions.map((d) => [`${d.type} v${d.version}`, d] as const))('%s', (_name, definition) => {
  it('has no field that looks like PHI (schema and kept example)', () => {
    const paths = [
      ...fieldPaths(z.toJSONSchema(definition.schema, { unrepresentable: 'any' })),
      ...keysOf(definition.example),
    ];
    const suspicious = [...new Set(paths)].filter((path) => {
      const leaf = path.split('.').at(-1) ?? path;
      return (
        PHI_NAMES.some((pattern) => pattern.test(leaf)) && !(definition.phiAllowed && path in definition.phiAllowed)
      );
    });
    expect(suspicious).toEqual([]);
  });
});

describe('the PHI guard', () => {
  it('catches a PHI field', () => {
    const paths = fieldPaths(z.toJSONSchema(z.object({ patient: z.object({ birthDate: z.string() }) })));
    expect(paths.filter((p) => PHI_NAMES.some((re) => re.test(p.split('.').at(-1) ?? '')))).toEqual([
      'patient.birthDate',
    ]);
  });
});
