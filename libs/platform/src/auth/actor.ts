import { z } from 'zod';

/**
 * Every role a token may carry. records: patient, practitioner, related-person, auditor; trials: sponsor,
 * investigator (with `org` = the site), participant, monitor (read-only: regulator or IRB); supply: manufacturer,
 * wholesaler, dispenser, regulator (read-only), each with `org` = `Organization/<GLN>`; org-admin in all three.
 * A token is for one service (its audience), and each route names the roles it admits.
 */
export const ACTOR_ROLES = [
  'patient',
  'practitioner',
  'related-person',
  'org-admin',
  'auditor',
  'sponsor',
  'investigator',
  'participant',
  'monitor',
  'manufacturer',
  'wholesaler',
  'dispenser',
  'regulator',
] as const;
export type ActorRole = (typeof ACTOR_ROLES)[number];

/** The roles each service admits (a token with another role is refused there: 401 AUTH.INVALID_TOKEN). */
export const SERVICE_ROLES = {
  records: ['patient', 'practitioner', 'related-person', 'org-admin', 'auditor'],
  trials: ['sponsor', 'investigator', 'participant', 'monitor', 'org-admin'],
  supply: ['manufacturer', 'wholesaler', 'dispenser', 'regulator', 'org-admin'],
  ledger: [],
} as const satisfies Record<string, readonly ActorRole[]>;
export type RecordsRole = (typeof SERVICE_ROLES.records)[number];

/**
 * What kind of subject may hold each role (the resource type of `sub`): a patient's token names a Patient, a
 * sponsor's an Organization. A token whose `sub` does not fit its role is invalid: a Practitioner with role
 * `patient` would be treated as the patient it is not. A research participant is a Patient (trials matches
 * `Patient/<participant id>`); supply's parties are Organizations (their GLN), or a Device (a scanner or an ERP
 * capturing EPCIS for the organization in `org`); people who administer, audit or monitor may be named as the
 * Practitioner they are or the Organization they act for.
 */
export const ROLE_SUBJECTS: Readonly<Record<ActorRole, readonly string[]>> = {
  patient: ['Patient'],
  participant: ['Patient'],
  practitioner: ['Practitioner'],
  investigator: ['Practitioner'],
  'related-person': ['RelatedPerson'],
  auditor: ['Practitioner', 'Organization'],
  'org-admin': ['Organization', 'Practitioner'],
  monitor: ['Organization', 'Practitioner'],
  sponsor: ['Organization'],
  regulator: ['Organization', 'Practitioner'],
  manufacturer: ['Organization', 'Device'],
  wholesaler: ['Organization', 'Device'],
  dispenser: ['Organization', 'Device'],
};

/** The claims medledger reads from a bearer token. `sub` is the actor's FHIR reference. */
export const ActorClaims = z.object({
  sub: z
    .string()
    .regex(
      /^(Patient|Practitioner|RelatedPerson|Organization|Device)\/[A-Za-z0-9\-.]{1,64}$/,
      'must be a FHIR reference such as Practitioner/123',
    ),
  role: z.enum(ACTOR_ROLES),
  /** The organization the actor acts for (`Organization/…`). */
  org: z
    .string()
    .regex(/^Organization\/[A-Za-z0-9\-.]{1,64}$/)
    .optional(),
});

/** The authenticated caller of a request. */
export interface AuthenticatedActor {
  reference: string;
  role: ActorRole;
  organization?: string;
  /** The token's id (`jti`), for the audit trail. */
  tokenId?: string;
  /**
   * The client's network address (express's `req.ip`: the socket's peer, or the proxy chain's when trusted), for
   * the audit trail. Set per request by AuthGuard, never from the token.
   */
  clientAddress?: string;
}
