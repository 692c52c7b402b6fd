import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for clients (mobile apps, our e2e tests) from schema.graphql and the
 * operations in src/client/. `npm run codegen` writes src/client/gql/; `codegen:check` fails on drift.
 */
const config: CodegenConfig = {
  schema: './schema.graphql',
  documents: ['src/client/**/*.ts', '!src/client/gql/**'],
  ignoreNoDocuments: false,
  // ESM with NodeNext resolution needs the .js extensions in generated imports.
  emitLegacyCommonJSImports: false,
  generates: {
    './src/client/gql/': {
      preset: 'client',
      presetConfig: { persistedDocuments: true, fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
    },
  },
};

export default config;
