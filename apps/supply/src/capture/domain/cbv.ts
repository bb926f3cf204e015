/**
 * The CBV 2.0 vocabularies that capture checks, and their three spellings.
 * SPEC: GS1 Core Business Vocabulary (CBV) 2.0 §7.2 (business steps), §7.3 (dispositions), §7.4 (business
 * transaction types), §7.5 (source/destination types), §7.6 (error reasons); §8.2–8.3 (a vocabulary element is
 * written as a bare word in EPCIS 2.0 JSON-LD, as a CBV Web URI `https://ref.gs1.org/cbv/BizStep-shipping`, or as
 * the EPCIS 1.x URN `urn:epcglobal:cbv:bizstep:shipping`).
 * The word lists are the enums of GS1's EPCIS 2.0 JSON Schema (../../epcis/schema/), which `cbv.spec` checks, so
 * a schema update that adds a word fails a test instead of refusing events that use it.
 */

export type CbvVocabulary = 'bizStep' | 'disposition' | 'bizTransactionType' | 'sourceDestType' | 'errorReason';

// SPEC: CBV 2.0 §7.2.
const BIZ_STEPS = [
  'accepting',
  'arriving',
  'assembling',
  'collecting',
  'commissioning',
  'consigning',
  'creating_class_instance',
  'cycle_counting',
  'decommissioning',
  'departing',
  'destroying',
  'disassembling',
  'dispensing',
  'encoding',
  'entering_exiting',
  'holding',
  'inspecting',
  'installing',
  'killing',
  'loading',
  'other',
  'packing',
  'picking',
  'receiving',
  'removing',
  'repackaging',
  'repairing',
  'replacing',
  'reserving',
  'retail_selling',
  'sampling',
  'sensor_reporting',
  'shipping',
  'staging_outbound',
  'stock_taking',
  'stocking',
  'storing',
  'transporting',
  'unloading',
  'unpacking',
  'void_shipping',
] as const;

// SPEC: CBV 2.0 §7.3.
const DISPOSITIONS = [
  'active',
  'available',
  'completeness_inferred',
  'completeness_verified',
  'conformant',
  'container_closed',
  'container_open',
  'damaged',
  'destroyed',
  'dispensed',
  'disposed',
  'encoded',
  'expired',
  'in_progress',
  'in_transit',
  'inactive',
  'mismatch_class',
  'mismatch_instance',
  'mismatch_quantity',
  'needs_replacement',
  'no_pedigree_match',
  'non_conformant',
  'non_sellable_other',
  'partially_dispensed',
  'recalled',
  'reserved',
  'retail_sold',
  'returned',
  'sellable_accessible',
  'sellable_not_accessible',
  'stolen',
  'unavailable',
  'unknown',
] as const;

// SPEC: CBV 2.0 §7.4.
const BIZ_TRANSACTION_TYPES = [
  'bol',
  'cert',
  'desadv',
  'inv',
  'pedigree',
  'po',
  'poc',
  'prodorder',
  'recadv',
  'rma',
  'testprd',
  'testres',
  'upevt',
] as const;

// SPEC: CBV 2.0 §7.5.
const SOURCE_DEST_TYPES = ['owning_party', 'possessing_party', 'location'] as const;

// SPEC: CBV 2.0 §7.6.
const ERROR_REASONS = ['did_not_occur', 'incorrect_data'] as const;

export const CBV_WORDS: Readonly<Record<CbvVocabulary, ReadonlySet<string>>> = {
  bizStep: new Set(BIZ_STEPS),
  disposition: new Set(DISPOSITIONS),
  bizTransactionType: new Set(BIZ_TRANSACTION_TYPES),
  sourceDestType: new Set(SOURCE_DEST_TYPES),
  errorReason: new Set(ERROR_REASONS),
};

// SPEC: CBV 2.0 §8.2 (Web URI prefixes) and §8.3 (the URN prefixes of CBV 1.x, still valid in EPCIS 2.0).
const SPELLINGS: Readonly<Record<CbvVocabulary, readonly [web: string, urn: string]>> = {
  bizStep: ['https://ref.gs1.org/cbv/BizStep-', 'urn:epcglobal:cbv:bizstep:'],
  disposition: ['https://ref.gs1.org/cbv/Disp-', 'urn:epcglobal:cbv:disp:'],
  bizTransactionType: ['https://ref.gs1.org/cbv/BTT-', 'urn:epcglobal:cbv:btt:'],
  sourceDestType: ['https://ref.gs1.org/cbv/SDT-', 'urn:epcglobal:cbv:sdt:'],
  errorReason: ['https://ref.gs1.org/cbv/ER-', 'urn:epcglobal:cbv:er:'],
};

/**
 * The CBV short name (`shipping`) of a vocabulary element written in any of its three spellings; undefined when
 * the value is not an element of that CBV 2.0 vocabulary (a user vocabulary, a typo, another vocabulary's word).
 */
export function cbvShortName(vocabulary: CbvVocabulary, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const [web, urn] = SPELLINGS[vocabulary];
  const word = value.startsWith(web)
    ? value.slice(web.length)
    : value.startsWith(urn)
      ? value.slice(urn.length)
      : value;
  return CBV_WORDS[vocabulary].has(word) ? word : undefined;
}
