import { badInput } from './errors.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Fills `{{var}}` placeholders; a variable the text needs but the caller didn't give is bad input. */
export function renderTemplate(text: string, variables: Record<string, unknown>, field: string): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const v = variables[name];
    if (v === undefined || v === null) throw badInput(field, `template variable "${name}" is missing`);
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}
