/**
 * Field scopes checked once per operation (src/schema/scope-precheck.ts), on Pothos's real
 * scope-auth: the scopes an operation asks for; scope-auth's wrapper skipped only for an
 * operation whose every scope the principal holds; its own errors, field by field, otherwise.
 */
import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { execute, getOperationAST, parse, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../src/schema/index.js';
import { installScopePrecheck, operationScopes, precheckScopes } from '../src/schema/scope-precheck.js';
import { ADMIN, asUser, codes, useTestApp } from './helpers/app.js';

function scopesOf(schema: GraphQLSchema, text: string): string[] | null {
  const document = parse(text);
  const scopes = operationScopes(schema, document, getOperationAST(document)!);
  return scopes && [...scopes].sort();
}

describe('the scopes an operation asks for', () => {
  it("are its fields', through fragments and inline fragments; introspection asks for none", () => {
    const schema = buildSchema();
    expect(scopesOf(schema, 'mutation($u: ID!) { sendNotification(input: { userIds: [$u], type: "t", title: "x", body: "" }) { notifications { id } } }')).toEqual(['service']);
    expect(scopesOf(schema, '{ notificationTypes { type } templates { name } }')).toEqual(['admin', 'authenticated']);
    expect(scopesOf(schema, 'query { ...F } fragment F on Query { templates { name } ... on Query { notificationTypes { type } } }')).toEqual(['admin', 'authenticated']);
    expect(scopesOf(schema, '{ __typename __schema { queryType { name } } }')).toEqual([]);
  });
});

type Roles = { roles: string[] };
const granted = (ctx: Roles) => ({ reader: ctx.roles.includes('reader'), admin: ctx.roles.includes('admin') });

/**
 * A schema of Pothos with scope-auth, counting how often scope-auth asks for a context's
 * scopes; `edit` changes the built schema before the precheck is installed.
 */
function countingSchema(edit?: (schema: GraphQLSchema) => void) {
  const asked = { n: 0 };
  const b = new SchemaBuilder<{ Context: Roles; AuthScopes: { reader: boolean; admin: boolean } }>({
    plugins: [ScopeAuthPlugin],
    scopeAuth: {
      authScopes: (ctx) => {
        asked.n++;
        return granted(ctx);
      },
    },
  });
  b.queryType({
    fields: (t) => ({
      open: t.string({ resolve: () => 'open' }),
      read: t.string({ authScopes: { reader: true }, resolve: () => 'read' }),
      secret: t.string({ authScopes: { admin: true }, resolve: () => 'secret' }),
      either: t.string({ authScopes: { $any: { reader: true, admin: true } }, resolve: () => 'either' }),
    }),
  });
  const schema = b.toSchema();
  edit?.(schema);
  installScopePrecheck(schema, b.options.plugins ?? []);
  return { schema, asked };
}

async function run(schema: GraphQLSchema, text: string, roles: string[]) {
  const document = parse(text);
  const contextValue = { roles };
  precheckScopes(schema, document, getOperationAST(document)!, contextValue, granted(contextValue));
  return JSON.parse(JSON.stringify(await execute({ schema, document, contextValue }))) as { data?: Record<string, unknown>; errors?: { path: string[] }[] };
}

describe('scope-auth skipped only where every scope is held', () => {
  it('all held: the bare resolvers run and scope-auth is not asked', async () => {
    const { schema, asked } = countingSchema();
    expect(await run(schema, '{ open read secret }', ['reader', 'admin'])).toEqual({ data: { open: 'open', read: 'read', secret: 'secret' } });
    expect(asked.n).toBe(0);
  });

  it('one missing: scope-auth decides each field, and refuses that one with its error', async () => {
    const { schema, asked } = countingSchema();
    const r = await run(schema, '{ read secret }', ['reader']);
    expect(r.data).toEqual({ read: 'read', secret: null });
    expect(r.errors?.map((e) => e.path)).toEqual([['secret']]);
    expect(asked.n).toBe(1);
  });

  it('a scope of another form ($any) is always scope-auth’s', async () => {
    const { schema, asked } = countingSchema();
    expect(scopesOf(schema, '{ read either }')).toBeNull();
    expect(await run(schema, '{ read either }', ['reader'])).toEqual({ data: { read: 'read', either: 'either' } });
    expect(asked.n).toBe(1);
  });

  it("leaves a field to scope-auth when Pothos's record of the field's own resolver is missing", async () => {
    const { schema, asked } = countingSchema((s) => {
      delete (s.getQueryType()!.getFields().read!.extensions as Record<string, unknown>).pothosConfig;
    });
    expect(await run(schema, '{ read }', ['reader'])).toEqual({ data: { read: 'read' } });
    expect(asked.n).toBe(1);
  });

  it('is refused when Pothos has another plugin (its wrapper would be skipped too)', () => {
    expect(() => installScopePrecheck(countingSchema().schema, ['scopeAuth', 'validation'])).toThrow(/only plugin/);
  });
});

describe('through the server', () => {
  const t = useTestApp('memory');

  it('an operation with one field the caller may not read is FORBIDDEN at that field; an admin gets both', async () => {
    const doc = parse('{ notificationTypes { type } templates { name } }');
    const mixed = await t().run(doc as never, {}, asUser('reader'));
    expect(codes(mixed)).toEqual(['FORBIDDEN']);
    expect(mixed.errors?.[0]?.path).toEqual(['templates']);
    const admin = await t().run(doc as never, {}, ADMIN);
    expect(admin.errors).toBeUndefined();
  });
});
