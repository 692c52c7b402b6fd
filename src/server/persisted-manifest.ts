/**
 * Reading persisted-operation manifests in Apollo's format, the one Apollo Kotlin
 * (`generateOperationOutput`/`operationManifest`) and Apollo iOS (`operationManifest`) write:
 *
 * ```json
 * {"format":"apollo-persisted-query-manifest","version":1,
 *  "operations":[{"id":"<sha256>","body":"query Me { … }","name":"Me","type":"query"}]}
 * ```
 */
import { readFileSync } from 'node:fs';

/** One manifest file: operation ids and the documents they stand for. */
export interface PersistedManifest {
  path: string;
  operations: { id: string; body: string }[];
}

/**
 * Reads and checks one Apollo persisted-query manifest.
 * @throws Error whose message names the file and what is wrong with it.
 */
export function readApolloManifest(path: string): PersistedManifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${JSON.stringify(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${JSON.stringify(path)} is not JSON`);
  }
  const m = json as { format?: unknown; version?: unknown; operations?: unknown };
  if (typeof m !== 'object' || m === null || m.format !== 'apollo-persisted-query-manifest' || m.version !== 1 || !Array.isArray(m.operations)) {
    throw new Error(`${JSON.stringify(path)} is not an Apollo persisted-query manifest (format "apollo-persisted-query-manifest", version 1, operations [])`);
  }
  const operations = m.operations.map((op: unknown, i: number) => {
    const { id, body } = (op ?? {}) as { id?: unknown; body?: unknown };
    if (typeof id !== 'string' || id === '' || typeof body !== 'string' || body.trim() === '') {
      throw new Error(`${JSON.stringify(path)}: operations[${i}] needs a non-empty "id" and "body"`);
    }
    return { id, body };
  });
  return { path, operations };
}
