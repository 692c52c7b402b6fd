import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import type { Context } from './context.js';

/** The scopes a request's principal holds (scope-auth's, and scope-precheck.ts's). */
export function grantedScopes(ctx: Pick<Context, 'principal'>) {
  const roles = ctx.principal?.roles ?? [];
  return {
    authenticated: ctx.principal !== null,
    inbox: roles.includes('user'),
    service: roles.includes('service') || roles.includes('admin'),
    admin: roles.includes('admin'),
  };
}

/** Plugins, scalars and the context type; no types here (see the domain modules). */
export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: {
    /** an inbox owner: a token with the user role */
    inbox: boolean;
    /** may send, broadcast, publish and manage users */
    service: boolean;
    admin: boolean;
    authenticated: boolean;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date | number };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: grantedScopes,
    unauthorizedError: (_parent, ctx, info) =>
      ctx.principal
        ? new GraphQLError(`${info.parentType.name}.${info.fieldName} needs a role this token doesn't have`, {
            extensions: { code: 'FORBIDDEN' },
          })
        : new GraphQLError('Authentication required: send Authorization: Bearer <jwt>', {
            extensions: { code: 'UNAUTHENTICATED' },
          }),
  },
});
