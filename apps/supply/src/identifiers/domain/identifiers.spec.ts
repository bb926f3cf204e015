import {
  composeDigitalLink,
  digitalLinkToSgtinUri,
  formatLgtinUri,
  formatSglnUri,
  formatSgtinUri,
  gs1CheckDigit,
  parseDigitalLink,
  parseExpiry,
  parseGln,
  parseGtin,
  parseLgtinUri,
  parseLot,
  parseSerial,
  parseSglnUri,
  parseSgtinUri,
  sgtinUriToDigitalLink,
} from './index';

const TODAY = new Date('2026-06-15T00:00:00Z');

describe('GS1 check digit (GenSpecs §7.9.1)', () => {
  // GTINs from GS1's EPCIS examples and GS1 General Specifications' worked examples.
  test.each([
    ['10614141073464', 'GTIN-14 of urn:epc:id:sgtin:0614141.107346.* (EPCIS 2.0 examples)'],
    ['04012345111118', 'GTIN-14 of urn:epc:id:sgtin:4012345.011111.* (EPCIS 2.0 examples)'],
    ['09520123456788', 'GS1 Digital Link standard example'],
    ['04012345999990', 'EPCIS 2.0 Digital Link example'],
    ['4006381333931', 'GTIN-13'],
    ['036000291452', 'GTIN-12 (UPC-A)'],
    ['96385074', 'GTIN-8 (GenSpecs example)'],
  ])('%s is valid (%s)', (gtin) => {
    expect(parseGtin(gtin)).toEqual({ ok: true, value: gtin.padStart(14, '0') });
  });

  test.each([
    ['10614141073465', 4],
    ['4006381333932', 1],
    ['036000291453', 2],
    ['96385075', 4],
  ])('%s has a bad check digit (expected %i)', (gtin, expected) => {
    const result = parseGtin(gtin);
    expect(result).toMatchObject({ ok: false, code: 'SUPPLY.BAD_CHECK_DIGIT' });
    expect(gs1CheckDigit(gtin.slice(0, -1))).toBe(expected);
  });

  test.each(['', '123', '1234567890', '123456789012345', '0614141O73464', ' 96385074'])('%j is not a GTIN', (gtin) => {
    expect(parseGtin(gtin)).toMatchObject({ ok: false, code: 'SUPPLY.BAD_IDENTIFIER' });
  });

  it('GLN-13 with and without a valid check digit', () => {
    expect(parseGln('4012345000115')).toEqual({ ok: true, value: '4012345000115' });
    expect(parseGln('4012345000116')).toMatchObject({ ok: false, code: 'SUPPLY.BAD_CHECK_DIGIT' });
    expect(parseGln('401234500011')).toMatchObject({ ok: false, code: 'SUPPLY.BAD_IDENTIFIER' });
  });
});

describe('AI 21 serial and AI 10 lot (GenSpecs §3.2, character set 82)', () => {
  test.each(['1', '2017', 'XYZ-1234', '!"%&\'()*+,-./:;<=>?', 'a_b', '12345678901234567890'])(
    'serial %j is valid',
    (s) => {
      expect(parseSerial(s)).toEqual({ ok: true, value: s });
    },
  );

  test.each(['', '123456789012345678901', 'a b', 'é', 'a#b', 'a~b', 'a$b', 'a@b'])('serial %j is refused', (s) => {
    expect(parseSerial(s)).toMatchObject({ ok: false, code: 'SUPPLY.BAD_SERIAL' });
  });

  test.each(['', '123456789012345678901', 'LOT 1'])('lot %j is refused', (s) => {
    expect(parseLot(s)).toMatchObject({ ok: false, code: 'SUPPLY.BAD_LOT' });
  });
});

describe('AI 17 expiry date (GenSpecs §3.4.6, century rule §7.12)', () => {
  test.each([
    ['280131', '2028-01-31', false],
    ['280200', '2028-02-29', true], // DD 00: last day of the month, leap year
    ['270200', '2027-02-28', true],
    ['261200', '2026-12-31', true],
    ['760101', '2076-01-01', false], // YY − CY = 50: still this century
    ['770101', '1977-01-01', false], // YY − CY = 51: previous century
    ['000229', '2000-02-29', false],
  ])('%s is %s', (yymmdd, date, endOfMonth) => {
    expect(parseExpiry(yymmdd, TODAY)).toEqual({ ok: true, value: { yymmdd, date, endOfMonth } });
  });

  it('near the end of a century, a small YY is next century', () => {
    expect(parseExpiry('300101', new Date('2095-01-01T00:00:00Z'))).toMatchObject({ value: { date: '2130-01-01' } });
  });

  test.each(['281301', '280230', '270229', '281232', '2801', '28013a', '20280131'])('%s is refused', (yymmdd) => {
    expect(parseExpiry(yymmdd, TODAY)).toMatchObject({ ok: false, code: 'SUPPLY.BAD_EXPIRY' });
  });
});

describe('EPC URIs (TDS 2.x)', () => {
  test.each([
    ['urn:epc:id:sgtin:0614141.107346.2017', '10614141073464', '2017', 7],
    ['urn:epc:id:sgtin:4012345.011111.9876', '04012345111118', '9876', 7],
    ['urn:epc:id:sgtin:952012345.0678.a%2Fb%22', '09520123456788', 'a/b"', 9],
    ['urn:epc:id:sgtin:061414.1107346.(1)!', '10614141073464', '(1)!', 6],
  ])('%s ⇄ GTIN %s, serial %j', (uri, gtin, serial, companyPrefixLength) => {
    expect(parseSgtinUri(uri)).toEqual({ ok: true, value: { gtin, serial, companyPrefixLength } });
    expect(formatSgtinUri({ gtin, serial, companyPrefixLength })).toEqual({ ok: true, value: uri });
  });

  test.each<[string, string]>([
    ['urn:epc:id:sgtin:0614141.10734.2017', 'SUPPLY.BAD_IDENTIFIER'], // 12 digits
    ['urn:epc:id:sgtin:06141.1107346.2017', 'SUPPLY.BAD_IDENTIFIER'], // company prefix too short
    ['urn:epc:id:sgtin:0614141.107346.a/b', 'SUPPLY.BAD_SERIAL'], // '/' must be %2F
    ['urn:epc:id:sgtin:0614141.107346.%2', 'SUPPLY.BAD_SERIAL'],
    ['urn:epc:id:sgtin:0614141.107346.123456789012345678901', 'SUPPLY.BAD_SERIAL'],
    ['urn:epc:id:sgln:0614141.07346.1234', 'SUPPLY.BAD_IDENTIFIER'], // not an SGTIN
  ])('%s is refused (%s)', (uri, code) => {
    expect(parseSgtinUri(uri)).toMatchObject({ ok: false, code });
  });

  it('formatting refuses a GTIN with a bad check digit', () => {
    expect(formatSgtinUri({ gtin: '10614141073465', serial: '1', companyPrefixLength: 7 })).toMatchObject({
      ok: false,
      code: 'SUPPLY.BAD_CHECK_DIGIT',
    });
  });

  test.each([
    ['urn:epc:id:sgln:0614141.07346.1234', { gln: '0614141073467', extension: '1234', companyPrefixLength: 7 }],
    ['urn:epc:id:sgln:4012345.00011.0', { gln: '4012345000115', companyPrefixLength: 7 }],
    ['urn:epc:id:sgln:012345678901..0', { gln: '0123456789012', companyPrefixLength: 12 }],
  ])('%s ⇄ GLN', (uri, sgln) => {
    expect(parseSglnUri(uri)).toEqual({ ok: true, value: sgln });
    expect(formatSglnUri(sgln)).toEqual({ ok: true, value: uri });
  });

  it('an SGLN must add up to 12 digits', () => {
    expect(parseSglnUri('urn:epc:id:sgln:0614141.0734.0')).toMatchObject({ ok: false, code: 'SUPPLY.BAD_IDENTIFIER' });
  });

  test.each([
    ['urn:epc:class:lgtin:4012345.012345.998877', { gtin: '04012345123456', lot: '998877', companyPrefixLength: 7 }],
    ['urn:epc:class:lgtin:0614141.107346.L%2F1', { gtin: '10614141073464', lot: 'L/1', companyPrefixLength: 7 }],
  ])('%s ⇄ GTIN + lot', (uri, lgtin) => {
    expect(parseLgtinUri(uri)).toEqual({ ok: true, value: lgtin });
    expect(formatLgtinUri(lgtin)).toEqual({ ok: true, value: uri });
  });
});

describe('GS1 Digital Link URIs (Digital Link 1.2)', () => {
  test.each<[string, Record<string, unknown>]>([
    ['https://id.gs1.org/01/09520123456788/21/12345', { gtin: '09520123456788', serial: '12345' }],
    [
      'https://id.gs1.org/01/09520123456788/21/12345?10=ABC1&17=280131',
      {
        gtin: '09520123456788',
        serial: '12345',
        lot: 'ABC1',
        expiry: { yymmdd: '280131', date: '2028-01-31', endOfMonth: false },
      },
    ],
    [
      'https://example.com/01/09520123456788/10/ABC1/21/12345',
      { gtin: '09520123456788', lot: 'ABC1', serial: '12345' },
    ],
    ['https://brand.example/some/prefix/01/9520123456788/21/X%2FY%21', { gtin: '09520123456788', serial: 'X/Y!' }],
    ['http://id.gs1.de/01/96385074', { gtin: '00000096385074' }],
    [
      'https://id.gs1.org/01/036000291452/22/V1/10/L1?3103=000189&utm=x',
      { gtin: '00036000291452', cpv: 'V1', lot: 'L1' },
    ],
  ])('%s', (uri, expected) => {
    const result = parseDigitalLink(uri, TODAY);
    if (!result.ok) throw new Error(result.reason);
    expect({ ...result.value }).toEqual(expected);
  });

  test.each<[string, string]>([
    ['https://id.gs1.org/01/09520123456789/21/12345', 'SUPPLY.BAD_CHECK_DIGIT'],
    ['https://id.gs1.org/01/952012345678/21/1', 'SUPPLY.BAD_CHECK_DIGIT'],
    ['https://id.gs1.org/01/95201234567/21/1', 'SUPPLY.BAD_IDENTIFIER'],
    ['https://id.gs1.org/01/09520123456788/21/123456789012345678901', 'SUPPLY.BAD_SERIAL'],
    ['https://id.gs1.org/01/09520123456788/21/a%20b%23', 'SUPPLY.BAD_SERIAL'],
    ['https://id.gs1.org/01/09520123456788/10/123456789012345678901', 'SUPPLY.BAD_LOT'],
    ['https://id.gs1.org/01/09520123456788/10/A?10=B', 'SUPPLY.BAD_LOT'],
    ['https://id.gs1.org/01/09520123456788/21/1?17=281301', 'SUPPLY.BAD_EXPIRY'],
    ['https://id.gs1.org/01/09520123456788/21/1/10/A', 'SUPPLY.BAD_IDENTIFIER'], // qualifiers out of order
    ['https://id.gs1.org/01/09520123456788?21=1', 'SUPPLY.BAD_SERIAL'],
    ['https://id.gs1.org/01/09520123456788/21/%E0%A4%A', 'SUPPLY.BAD_IDENTIFIER'],
    ['https://id.gs1.org/414/4012345000115', 'SUPPLY.BAD_IDENTIFIER'],
    ['ftp://id.gs1.org/01/09520123456788', 'SUPPLY.BAD_IDENTIFIER'],
    ['not a uri', 'SUPPLY.BAD_IDENTIFIER'],
  ])('%s is refused (%s)', (uri, code) => {
    expect(parseDigitalLink(uri, TODAY)).toMatchObject({ ok: false, code });
  });

  it('composes the canonical form: id.gs1.org, GTIN-14, qualifiers in the path, expiry in the query', () => {
    const expiry = parseExpiry('280200', TODAY);
    if (!expiry.ok) throw new Error(expiry.reason);
    expect(composeDigitalLink({ gtin: '9520123456788', lot: 'A(1)', serial: 'x/y', expiry: expiry.value })).toEqual({
      ok: true,
      value: 'https://id.gs1.org/01/09520123456788/10/A%281%29/21/x%2Fy?17=280200',
    });
  });

  test.each([
    'urn:epc:id:sgtin:0614141.107346.2017',
    'urn:epc:id:sgtin:4012345.011111.9876',
    'urn:epc:id:sgtin:952012345.0678.a%2Fb%22',
    "urn:epc:id:sgtin:061414.1107346.(1)!'*+,-.:;=_",
  ])('%s → Digital Link → the same URI', (uri) => {
    const companyPrefixLength = uri.split(':')[4]?.split('.')[0]?.length ?? 0;
    const link = sgtinUriToDigitalLink(uri);
    if (!link.ok) throw new Error(link.reason);
    expect(link.value).toMatch(/^https:\/\/id\.gs1\.org\/01\/\d{14}\/21\//);
    expect(digitalLinkToSgtinUri(link.value, companyPrefixLength, TODAY)).toEqual({ ok: true, value: uri });
  });

  it('Digital Link → SGTIN needs a serial', () => {
    expect(digitalLinkToSgtinUri('https://id.gs1.org/01/09520123456788/10/A1', 9, TODAY)).toMatchObject({
      ok: false,
      code: 'SUPPLY.BAD_SERIAL',
    });
  });
});
