import type { GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import { installScopePrecheck } from './scope-precheck.js';
import './scalars.js';
import './enums.js';
import './node.js';
import './users.js';
import './inbox.js';
import './deliveries.js';
import './broadcasts.js';
import './admin.js';
import './realtime.js';
import './inbox-stream.js';
import './dashboard.js';
import './jobs.js';

builder.queryType({});
builder.mutationType({});

let schema: GraphQLSchema | undefined;

/**
 * The whole schema (built once; Pothos builders can't be built twice), its single-role field
 * scopes checkable once per operation (scope-precheck.ts). Sorted lexicographically.
 */
export function buildSchema(): GraphQLSchema {
  if (!schema) {
    schema = builder.toSchema();
    installScopePrecheck(schema, builder.options.plugins ?? []);
  }
  return schema;
}
