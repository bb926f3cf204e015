import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The pinned official R4 package (a devDependency: the validator itself runs on the generated tables). */
export const PACKAGE_DIR = join(__dirname, '../../../../../node_modules/hl7.fhir.r4.examples');

export function readPackageFile(fileName: string): unknown {
  return JSON.parse(readFileSync(join(PACKAGE_DIR, fileName), 'utf8'));
}

export function listPackageFiles(): string[] {
  return readdirSync(PACKAGE_DIR);
}
