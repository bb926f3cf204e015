import { z } from 'zod';

export const ACTOR_ROLES = ['patient', 'practitioner', 'related-person', 'org-admin', 'auditor'] as const;
export type ActorRole = (typeof ACTOR_ROLES)[number];

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
}
