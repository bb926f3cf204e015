/** Jest's asymmetric matchers are typed `any`; these give them the type of the field they stand for. */
export const containing = (text: string): string => expect.stringContaining(text) as string;
export const matching = (pattern: RegExp): string => expect.stringMatching(pattern) as string;
