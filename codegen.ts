import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for clients (our e2e tests, TypeScript apps) and the persisted-documents
 * manifest the server loads, from schema.graphql and the operations in
 * src/client/operations/*.graphql: plain .graphql files, so a mobile project (Apollo Kotlin,
 * Apollo iOS) can copy them (docs/clients.md). `npm run codegen` writes src/client/gql/;
 * `codegen:check` fails on drift.
 */
const typedDocuments = {
  preset: 'client',
  presetConfig: { persistedDocuments: true, fragmentMasking: false },
  config: {
    useTypeImports: true,
    enumsAsTypes: true,
    scalars: { DateTime: 'string', JSON: 'unknown' },
  },
} as const;

const config: CodegenConfig = {
  schema: './schema.graphql',
  documents: ['src/client/operations/*.graphql'],
  ignoreNoDocuments: false,
  // ESM with NodeNext resolution needs the .js extensions in generated imports.
  emitLegacyCommonJSImports: false,
  generates: {
    './src/client/gql/': typedDocuments,
    './client/src/gql/': typedDocuments,
  },
};

export default config;
