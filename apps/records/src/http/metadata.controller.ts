import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@medledger/platform';
import { BUNDLE_MAX_ENTRIES } from '../bundles/domain/bundle';
import { RESOURCE_TYPES } from '../resources/domain/resource-types';
import { COMMON_PARAMETERS, SEARCH_PARAMETERS } from '../resources/domain/search-query';
import { FHIR_CONTENT_TYPE } from './operation-outcome';

/** What records serves, read from the same tables the routes use (a type or parameter added there shows here). */
export function capabilityStatement() {
  const interactions = ['read', 'vread', 'update', 'history-instance', 'create', 'search-type'];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-12-02',
    kind: 'instance',
    software: { name: 'medledger records' },
    implementation: { description: "medledger records: a patient's record under their consent" },
    fhirVersion: '4.0.1',
    format: ['json', FHIR_CONTENT_TYPE],
    rest: [
      {
        mode: 'server',
        security: {
          service: [
            { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth' }] },
          ],
          description:
            "Bearer tokens (EdDSA JWTs); every access is decided by the patient's Consents and audited; a refusal answers as an unknown id.",
        },
        // `POST /fhir` (bundles/): POST and PUT entries, at most BUNDLE_MAX_ENTRIES.
        interaction: [
          { code: 'transaction', documentation: `POST and PUT entries, at most ${BUNDLE_MAX_ENTRIES}, all or nothing` },
          { code: 'batch', documentation: `POST and PUT entries, at most ${BUNDLE_MAX_ENTRIES}, each on its own` },
        ],
        resource: RESOURCE_TYPES.map((type) => {
          const known = SEARCH_PARAMETERS[type];
          return {
            type,
            versioning: 'versioned',
            readHistory: true,
            updateCreate: false,
            interaction: interactions.map((code) => ({ code })),
            searchParam: [
              { name: 'patient', type: 'reference' },
              ...(known?.tokens ?? []).map((name) => ({ name, type: 'token' })),
              ...(known?.dates ?? []).map((name) => ({ name, type: 'date' })),
              ...(known ? COMMON_PARAMETERS.filter((name) => name === '_id' || name === '_lastUpdated') : []).map(
                (name) => ({ name, type: name === '_id' ? 'token' : 'date' }),
              ),
            ],
            ...(type === 'Patient' && {
              operation: [
                { name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' },
                { name: 'erase', definition: 'https://medledger.local/fhir/OperationDefinition/Patient-erase' },
                {
                  name: 'break-glass',
                  definition: 'https://medledger.local/fhir/OperationDefinition/Patient-break-glass',
                },
                {
                  name: 'disclosures',
                  definition: 'https://medledger.local/fhir/OperationDefinition/Patient-disclosures',
                },
              ],
            }),
          };
        }),
      },
    ],
  };
}

/** FHIR R4 §3.1.0.12 capabilities: `GET /fhir/metadata`, open like /health (it holds no data of anyone). */
@ApiTags('resources')
@Controller('fhir')
export class MetadataController {
  @Get('metadata')
  @Public()
  @Header('Content-Type', FHIR_CONTENT_TYPE)
  @ApiOperation({
    summary: 'The CapabilityStatement: the types, interactions, search parameters and operations served',
  })
  metadata() {
    return capabilityStatement();
  }
}
