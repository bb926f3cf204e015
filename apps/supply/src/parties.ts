import { ProblemException, type AuthenticatedActor } from '@medledger/platform';
import { hasValidCheckDigit } from './identifiers/domain';

/**
 * The GLN-13 of the party a token speaks for: `org` = `Organization/<GLN>`. Parties are identified by GLN in
 * supply (GS1 General Specifications §4.5); a token without one may read (a regulator) but not record.
 */
export function glnOf(actor: AuthenticatedActor): string | undefined {
  const gln = /^Organization\/(\d{13})$/.exec(actor.organization ?? '')?.[1];
  return gln && hasValidCheckDigit(gln) ? gln : undefined;
}

export function recorderOf(actor: AuthenticatedActor): string {
  const gln = glnOf(actor);
  if (!gln)
    throw new ProblemException(403, 'SUPPLY.NO_GLN', 'The token names no party', {
      detail: 'a recording party needs org = Organization/<GLN-13 with a valid check digit> in its token',
    });
  return gln;
}
