/**
 * The demo's supply chain (issue 14): a maker commissions and packs, a wholesaler ships, a pharmacy receives and
 * dispenses; a counterfeit pack (a copied serial) is caught at the pharmacy with its evidence sealed in the ledger;
 * then the lot is recalled and verification says so.
 */
import { randomBytes } from 'node:crypto';
import type { ActorRole } from '@medledger/platform';
import { say } from './lib';
import { devToken } from './token';

const SEAL_TIMEOUT_MS = 30_000;

/** GS1 mod-10 check digit (General Specifications §7.9). */
function withCheckDigit(digits: string): string {
  const sum = [...digits].reverse().reduce((total, d, i) => total + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return `${digits}${(10 - (sum % 10)) % 10}`;
}

export async function demoSupply(supplyUrl: string): Promise<boolean> {
  let ok = true;
  const parties = {
    maker: { prefix: '0614141', gln: withCheckDigit('061414100001'), role: 'manufacturer' as ActorRole },
    wholesaler: { prefix: '0712345', gln: withCheckDigit('071234500002'), role: 'wholesaler' as ActorRole },
    pharmacy: { prefix: '0812345', gln: withCheckDigit('081234500003'), role: 'dispenser' as ActorRole },
  };
  type Party = (typeof parties)[keyof typeof parties];
  // SPEC: GS1 TDS 2.x: urn:epc:id:sgln:<company prefix>.<location reference>.<extension>.
  const sgln = (p: Party) => `urn:epc:id:sgln:${p.prefix}.${p.gln.slice(p.prefix.length, 12)}.0`;
  const gtin = withCheckDigit(`0${parties.maker.prefix}77777`);
  const sgtin = (serial: string) =>
    `urn:epc:id:sgtin:${parties.maker.prefix}.${gtin.slice(0, 1)}${gtin.slice(8, 13)}.${serial}`;
  const lot = `D${randomBytes(3).toString('hex').toUpperCase()}`;
  const serials = [1, 2, 3].map((n) => `DEMO${n}${randomBytes(3).toString('hex').toUpperCase()}`);
  const pallet = `urn:epc:id:sscc:${parties.maker.prefix}.${String(Date.now()).slice(-10)}`;
  let clock = Date.now() - 30 * 60_000;

  const token = (p: Party) => devToken(`Organization/${p.gln}`, p.role, 'supply', '10m', `Organization/${p.gln}`);
  const capture = async (p: Party, ...events: Array<Record<string, unknown>>) => {
    const response = await fetch(`${supplyUrl}/v1/capture`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(p)}`, 'content-type': 'application/ld+json' },
      body: JSON.stringify({
        '@context': ['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld'],
        type: 'EPCISDocument',
        schemaVersion: '2.0',
        creationDate: new Date().toISOString(),
        epcisBody: { eventList: events },
      }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    if (response.status !== 201) throw new Error(`capture by ${p.gln}: ${response.status} ${JSON.stringify(body)}`);
    return body as {
      captured: Array<{ eventId: string }>;
      detections: Array<{ code: string; detectionId: string; evidence: Array<{ role: string; eventHash?: string }> }>;
    };
  };
  const event = (p: Party, fields: Record<string, unknown>) => ({
    type: 'ObjectEvent',
    eventTime: new Date((clock += 1000)).toISOString(),
    eventTimeZoneOffset: '+00:00',
    readPoint: { id: sgln(p) },
    bizLocation: { id: sgln(p) },
    ...fields,
  });
  const transfer = (from: Party, to: Party) => ({
    sourceList: [
      { type: 'owning_party', source: sgln(from) },
      { type: 'possessing_party', source: sgln(from) },
    ],
    destinationList: [
      { type: 'owning_party', destination: sgln(to) },
      { type: 'possessing_party', destination: sgln(to) },
    ],
  });
  const verify = async (serial: string) =>
    (await (await fetch(`${supplyUrl}/v1/verify?gtin=${gtin}&serial=${serial}&lot=${lot}`)).json()) as {
      verified: boolean;
      reason?: string;
    };

  const { maker, wholesaler, pharmacy } = parties;
  await capture(
    maker,
    event(maker, {
      epcList: serials.map(sgtin),
      action: 'ADD',
      bizStep: 'commissioning',
      disposition: 'active',
      ilmd: { 'cbvmda:lotNumber': lot, 'cbvmda:itemExpirationDate': '2029-12-31' },
    }),
    {
      ...event(maker, { parentID: pallet, childEPCs: serials.map(sgtin), action: 'ADD', bizStep: 'packing' }),
      type: 'AggregationEvent',
    },
  );
  say(
    `  maker ${maker.gln} commissions 3 packs of GTIN ${gtin} lot ${lot} and packs them on pallet ${pallet.slice(-10)}`,
  );
  await capture(
    maker,
    event(maker, {
      epcList: [pallet],
      action: 'OBSERVE',
      bizStep: 'shipping',
      disposition: 'in_transit',
      ...transfer(maker, wholesaler),
    }),
  );
  await capture(
    wholesaler,
    event(wholesaler, { epcList: [pallet], action: 'OBSERVE', bizStep: 'receiving', ...transfer(maker, wholesaler) }),
  );
  await capture(
    wholesaler,
    event(wholesaler, {
      epcList: [pallet],
      action: 'OBSERVE',
      bizStep: 'shipping',
      disposition: 'in_transit',
      ...transfer(wholesaler, pharmacy),
    }),
  );
  await capture(
    pharmacy,
    event(pharmacy, { epcList: [pallet], action: 'OBSERVE', bizStep: 'receiving', ...transfer(wholesaler, pharmacy) }),
  );
  say(`  wholesaler ${wholesaler.gln} receives and ships the pallet; pharmacy ${pharmacy.gln} receives it`);
  const before = await verify(serials[0] as string);
  const dispense = () =>
    capture(
      pharmacy,
      event(pharmacy, {
        epcList: [sgtin(serials[0] as string)],
        action: 'OBSERVE',
        bizStep: 'dispensing',
        disposition: 'dispensed',
      }),
    );
  await dispense();
  const after = await verify(serials[0] as string);
  say(
    `  pack ${serials[0]}: verified before dispensing: ${before.verified}; after: ${after.verified} (${after.reason ?? ''})`,
  );
  ok &&= before.verified && after.reason === 'SUPPLY.VERIFY.DISPENSED';

  const copy = await dispense();
  const detection = copy.detections[0];
  say(
    `  a second pack with the same serial reaches the counter: ${detection?.code ?? 'NOT DETECTED'} (evidence: ${detection?.evidence.map((e) => e.role).join(' + ') ?? '-'})`,
  );
  ok &&= detection?.code === 'SUPPLY.DISPENSED_TWICE';
  if (detection) {
    const deadline = Date.now() + SEAL_TIMEOUT_MS;
    let sealed: { leaf: { index: number }; block: { height: number } } | undefined;
    while (!sealed && Date.now() < deadline) {
      const response = await fetch(`${supplyUrl}/v1/events/${detection.detectionId}/receipt`, {
        headers: { authorization: `Bearer ${await token(pharmacy)}` },
      });
      if (response.ok) sealed = (await response.json()) as typeof sealed;
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    say(
      sealed
        ? `  the detection is sealed: leaf ${sealed.leaf.index} in block ${sealed.block.height}, receipt verified`
        : '  the detection was NOT sealed in time',
    );
    ok &&= sealed !== undefined;
  }
  const recall = await fetch(`${supplyUrl}/v1/lots/${gtin}/${lot}/recall`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await token(maker)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'particulate matter found in retained samples' }),
  });
  const recalled = await verify(serials[1] as string);
  say(
    `  the maker recalls lot ${lot} (${recall.status}); pack ${serials[1]} now verifies: ${recalled.verified} (${recalled.reason ?? ''})`,
  );
  ok &&= recall.status === 201 && recalled.reason === 'SUPPLY.VERIFY.RECALLED';
  return ok;
}
