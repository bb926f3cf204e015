import schema from '../../epcis/schema/epcis-json-schema.json';
import { CBV_WORDS, cbvShortName, type CbvVocabulary } from './cbv';

/** The enum of a GS1 JSON Schema definition `{ anyOf: [{ $ref: user vocabulary URI }, { enum: [CBV words] }] }`. */
function schemaWords(definition: string): string[] {
  const definitions = (schema as unknown as { definitions: Record<string, { anyOf?: Array<{ enum?: string[] }> }> })
    .definitions;
  return (definitions[definition]?.anyOf ?? []).flatMap((branch) => branch.enum ?? []);
}

describe('CBV 2.0 vocabularies', () => {
  test.each<[CbvVocabulary, string]>([
    ['bizStep', 'bizStep'],
    ['disposition', 'disposition'],
    ['bizTransactionType', 'bizTransaction-type'],
    ['sourceDestType', 'source-dest-type'],
    ['errorReason', 'error-reason'],
  ])("%s: the words of GS1's EPCIS 2.0 JSON Schema (%s)", (vocabulary, definition) => {
    const words = schemaWords(definition);
    expect(words.length).toBeGreaterThan(0);
    expect([...CBV_WORDS[vocabulary]].sort()).toEqual(words.sort());
  });

  test.each([
    ['bizStep', 'shipping', 'shipping'],
    ['bizStep', 'https://ref.gs1.org/cbv/BizStep-shipping', 'shipping'],
    ['bizStep', 'urn:epcglobal:cbv:bizstep:shipping', 'shipping'],
    ['bizStep', 'urn:epcglobal:cbv:disp:in_transit', undefined],
    ['bizStep', 'https://ref.gs1.org/cbv/Disp-in_transit', undefined],
    ['bizStep', 'Shipping', undefined],
    ['disposition', 'https://ref.gs1.org/cbv/Disp-partially_dispensed', 'partially_dispensed'],
    ['bizTransactionType', 'urn:epcglobal:cbv:btt:desadv', 'desadv'],
    ['sourceDestType', 'https://ref.gs1.org/cbv/SDT-possessing_party', 'possessing_party'],
    ['errorReason', 'urn:epcglobal:cbv:er:did_not_occur', 'did_not_occur'],
  ] as const)('%s %s → %s', (vocabulary, value, expected) => {
    expect(cbvShortName(vocabulary, value)).toBe(expected);
  });
});
