export { validateResource, isStoredResourceType, STORED_TYPES } from './validate';
export type { StoredResource, StoredResourceType, ValidationResult } from './validate';
export type { IssueCode } from './outcome';
export { patientElement, patientOf } from './patient-of';
export { searchIndex, searchParametersOf } from './search';
export type { SearchDate, SearchIndex, SearchToken } from './search';
export { MAX_JSON_DEPTH, tooDeep } from './depth';
