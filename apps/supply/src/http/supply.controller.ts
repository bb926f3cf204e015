import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Actor, ProblemException, Public, Roles, type AuthenticatedActor } from '@medledger/platform';
import { CaptureService } from '../capture/capture.service';
import { CustodyService } from '../custody/custody.service';
import { parseDigitalLink, parseExpiry, parseGtin, parseLot, parseSerial } from '../identifiers/domain';

const RECORDERS = ['manufacturer', 'wholesaler', 'dispenser'] as const;
const READERS = ['manufacturer', 'wholesaler', 'dispenser', 'regulator', 'org-admin'] as const;

function bad(code: string, detail: string): never {
  throw new ProblemException(400, code, 'Invalid product identifier', { detail });
}

/** The pack a query names: GTIN + serial (+ lot, expiry), or a GS1 Digital Link URI. */
export function packQuery(query: Record<string, string | undefined>, today: Date) {
  if (query['link'] !== undefined) {
    const link = parseDigitalLink(query['link'], today);
    if (!link.ok) bad(link.code, link.reason);
    if (!link.value.serial) bad('SUPPLY.BAD_SERIAL', 'the Digital Link names no serial (AI 21)');
    return {
      gtin: link.value.gtin,
      serial: link.value.serial,
      ...(link.value.lot !== undefined && { lot: link.value.lot }),
      ...(link.value.expiry !== undefined && { expiry: link.value.expiry.date }),
    };
  }
  const gtin = parseGtin(query['gtin'] ?? '');
  if (!gtin.ok) bad(gtin.code, gtin.reason);
  const serial = parseSerial(query['serial'] ?? '');
  if (!serial.ok) bad(serial.code, serial.reason);
  const lot = query['lot'] === undefined ? undefined : parseLot(query['lot']);
  if (lot && !lot.ok) bad(lot.code, lot.reason);
  const expiry = query['expiry'] === undefined ? undefined : parseExpiry(query['expiry'], today);
  if (expiry && !expiry.ok) bad(expiry.code, expiry.reason);
  return {
    gtin: gtin.value,
    serial: serial.value,
    ...(lot?.ok && { lot: lot.value }),
    ...(expiry?.ok && { expiry: expiry.value.date }),
  };
}

/** The lot a path names: a GTIN-14 and a lot (AI 10: up to 20 characters of GS1's set 82), refused before any query. */
export function lotPath(gtinParam: string, lotParam: string) {
  const gtin = parseGtin(gtinParam);
  if (!gtin.ok) bad(gtin.code, gtin.reason);
  const lot = parseLot(lotParam);
  if (!lot.ok) bad(lot.code, lot.reason);
  return { gtin: gtin.value, lot: lot.value };
}

const Recall = z.strictObject({ reason: z.string().min(1).max(2000) });
const UnitBody = z.strictObject({
  gtin: z.string(),
  serial: z.string(),
  location: z
    .string()
    .regex(/^\d{13}$/)
    .optional(),
});
const NotificationBody = z.strictObject({
  gtin: z.string().regex(/^\d{14}$/),
  lot: z.string().max(20).optional(),
  detectionIds: z.array(z.uuid()).min(1),
  determinedAt: z.iso.datetime().optional(),
  description: z.string().max(4000).optional(),
});

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success)
    throw new ProblemException(400, 'SUPPLY.INVALID_REQUEST', 'Invalid request', {
      detail: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    });
  return parsed.data;
}

@ApiTags('supply')
@Controller('v1')
export class SupplyController {
  constructor(
    private readonly capturing: CaptureService,
    private readonly custody: CustodyService,
  ) {}

  @Post('capture')
  @HttpCode(201)
  @Roles(...RECORDERS)
  @ApiOperation({
    summary:
      'Capture an EPCIS 2.0 document or single event (JSON-LD): schema, identifiers, CBV codes, location checked; custody applied; counterfeits flagged, not refused',
  })
  capture(@Actor() actor: AuthenticatedActor, @Body() body: unknown) {
    return this.capturing.capture(actor, body);
  }

  @Get('verify')
  @Public()
  @ApiOperation({
    summary:
      'Verify a pack (DSCSA VRS style; anyone, no token): ?gtin&serial[&lot][&expiry=YYMMDD] or ?link=<GS1 Digital Link>: verified or not, with a reason code',
  })
  verify(@Query() query: Record<string, string | undefined>) {
    return this.custody.verify(packQuery(query, new Date()));
  }

  @Get('units/trace')
  @Roles(...READERS)
  @ApiOperation({
    summary:
      "A pack's custody chain (?gtin&serial or ?link), each step with its event type and ledger receipt, what a transformation made it from, the assets associated with it: the regulator and the parties that held it",
  })
  trace(@Actor() actor: AuthenticatedActor, @Query() query: Record<string, string | undefined>) {
    return this.custody.trace(actor, packQuery(query, new Date()));
  }

  @Get('lots/:gtin/:lot/trace')
  @Roles(...READERS)
  @ApiOperation({ summary: "A lot's units and their custody (the regulator; a party sees the units it held)" })
  lotTrace(@Actor() actor: AuthenticatedActor, @Param('gtin') gtin: string, @Param('lot') lot: string) {
    const path = lotPath(gtin, lot);
    return this.custody.lotTrace(actor, path.gtin, path.lot);
  }

  @Post('lots/:gtin/:lot/recall')
  @HttpCode(201)
  @Roles('manufacturer', 'regulator')
  @ApiOperation({
    summary:
      'Recall a lot (its manufacturer or the regulator): later events are flagged, verification answers recalled',
  })
  recall(
    @Actor() actor: AuthenticatedActor,
    @Param('gtin') gtin: string,
    @Param('lot') lot: string,
    @Body() body: unknown,
  ) {
    const path = lotPath(gtin, lot);
    return this.custody.recall(actor, path.gtin, path.lot, parse(Recall, body).reason);
  }

  @Post('units/quarantine')
  @HttpCode(201)
  @Roles(...RECORDERS, 'regulator')
  @ApiOperation({ summary: 'Quarantine a pack (its holder or the regulator)' })
  quarantine(@Actor() actor: AuthenticatedActor, @Body() body: unknown) {
    return this.custody.unitAction(actor, 'quarantine', parse(UnitBody, body));
  }

  @Post('units/release')
  @HttpCode(201)
  @Roles(...RECORDERS, 'regulator')
  @ApiOperation({ summary: 'Release a quarantined pack (its holder or the regulator)' })
  release(@Actor() actor: AuthenticatedActor, @Body() body: unknown) {
    return this.custody.unitAction(actor, 'release', parse(UnitBody, body));
  }

  @Post('units/revert-decommission')
  @HttpCode(201)
  @Roles(...RECORDERS)
  @ApiOperation({
    summary:
      'Revert a decommissioning: EU FMD Art. 13 (same party and premises, ≤ 10 days, not expired/recalled/stolen/supplied)',
  })
  revert(@Actor() actor: AuthenticatedActor, @Body() body: unknown) {
    return this.custody.unitAction(actor, 'revert', parse(UnitBody, body));
  }

  @Post('notifications')
  @HttpCode(201)
  @Roles(...RECORDERS, 'regulator')
  @ApiOperation({
    summary: 'Notify illegitimate product (DSCSA §582: within 24 hours of the determination; the deadline is shown)',
  })
  notify(@Actor() actor: AuthenticatedActor, @Body() body: unknown) {
    return this.custody.notify(actor, parse(NotificationBody, body));
  }

  @Get('notifications')
  @Roles(...READERS)
  @ApiOperation({ summary: 'Illegitimate-product notifications with their 24-hour deadlines' })
  notifications() {
    return this.custody.notifications();
  }

  @Get('detections')
  @Roles('regulator', 'manufacturer', 'wholesaler', 'dispenser')
  @ApiOperation({ summary: 'Suspect products detected (?gtin&serial or ?link), each with its evidence and receipts' })
  detections(@Actor() actor: AuthenticatedActor, @Query() query: Record<string, string | undefined>) {
    return this.custody.detections(actor, packQuery(query, new Date()));
  }
}
