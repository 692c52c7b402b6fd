/**
 * Scopes checked once per operation instead of once per field. Pothos's scope-auth wraps every
 * field that has `authScopes` in a resolver that builds a per-request cache (five Maps) and
 * evaluates the field's scope map; on a service's HTTP send that wrapper cost 14 µs of 162
 * (the median difference over 5 paired bench runs; docs/performance.md). Every field scope in
 * this schema is a single role (`{ service: true }`), and a principal's roles don't change
 * during a request, so whether each field of an operation would pass is known before it runs:
 * - {@link precheckScopes}, called just before execution, marks the context with the
 *   operation when the principal holds every scope that any field of it (through fragments and
 *   every possible type) asks for;
 * - the wrapped fields, switched at build time ({@link installScopePrecheck}), run their bare
 *   resolver for the marked operation and scope-auth's wrapper otherwise, so a caller missing a
 *   scope gets scope-auth's own errors, at the same fields, exactly as before.
 * An operation touching a scope of another form (a function, `$any`, `$all`, granted scopes, a
 * type's scopes) is never marked: scope-auth checks it field by field.
 */
import {
  Kind,
  defaultFieldResolver,
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** The context property holding the operation whose scopes were all granted. */
const PRECHECKED = Symbol('operation whose scopes were checked');

type Marked = { [PRECHECKED]?: OperationDefinitionNode };

interface PothosFieldExtensions {
  pothosResolveWrapped?: boolean;
  pothosOptions?: { authScopes?: unknown; grantScopes?: unknown };
  pothosConfig?: { resolve?: GraphQLFieldResolver<unknown, unknown> };
}

/** The one scope a field asks for; null: none; false: a scope of another form (not ours to decide). */
function fieldScope(field: GraphQLField<unknown, unknown>): string | null | false {
  const ext = field.extensions as PothosFieldExtensions;
  const options = ext.pothosOptions;
  if (options?.grantScopes !== undefined) return false;
  const scopes = options?.authScopes;
  if (scopes === undefined) return ext.pothosResolveWrapped ? false : null;
  if (typeof scopes !== 'object' || scopes === null) return false;
  const names = Object.keys(scopes);
  if (names.length !== 1 || names[0]!.startsWith('$') || (scopes as Record<string, unknown>)[names[0]!] !== true) return false;
  return names[0]!;
}

const typeHasScopes = (type: GraphQLNamedType) => {
  const options = (type.extensions as { pothosOptions?: { authScopes?: unknown; grantScopes?: unknown } }).pothosOptions;
  return options?.authScopes !== undefined || options?.grantScopes !== undefined;
};

/** The scopes the operation's fields ask for; null when one of them can't be decided here. */
export function operationScopes(schema: GraphQLSchema, document: DocumentNode, op: OperationDefinitionNode): Set<string> | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const scopes = new Set<string>();
  const visit = (type: GraphQLNamedType | undefined | null, set: SelectionSetNode, spread: ReadonlySet<string>): boolean => {
    if (!type) return false;
    const types = isAbstractType(type) ? [type, ...schema.getPossibleTypes(type)] : [type];
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        // Introspection: graphql's own fields and types, no scopes.
        if (s.name.value.startsWith('__')) continue;
        for (const t of types) {
          if (!isObjectType(t) && !isInterfaceType(t)) continue;
          if (typeHasScopes(t)) return false;
          const field = t.getFields()[s.name.value];
          if (!field) continue;
          const scope = fieldScope(field);
          if (scope === false) return false;
          if (scope) scopes.add(scope);
          if (s.selectionSet && !visit(getNamedType(field.type), s.selectionSet, spread)) return false;
        }
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        if (!visit(s.typeCondition ? schema.getType(s.typeCondition.name.value) : type, s.selectionSet, spread)) return false;
      } else {
        const name = s.name.value;
        if (spread.has(name)) continue;
        const fragment = fragments.get(name);
        if (!fragment || !visit(schema.getType(fragment.typeCondition.name.value), fragment.selectionSet, new Set([...spread, name]))) return false;
      }
    }
    return true;
  };
  return visit(schema.getRootType(op.operation), op.selectionSet, new Set()) ? scopes : null;
}

/**
 * Switches every wrapped query and mutation field with a single-role scope to its bare
 * resolver for a marked operation. Once, on the schema Pothos built with scope-auth as its
 * only plugin (another plugin's wrapper would be skipped too).
 */
export function installScopePrecheck(schema: GraphQLSchema, plugins: readonly string[]): void {
  if (plugins.length !== 1 || plugins[0] !== 'scopeAuth') throw new Error(`scope precheck: expected scope-auth as Pothos's only plugin, got ${plugins.join(', ')}`);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type === schema.getSubscriptionType() || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const ext = field.extensions as PothosFieldExtensions;
      // Without Pothos's record of the field's own resolver, the field stays scope-auth's.
      if (!ext.pothosResolveWrapped || typeof fieldScope(field) !== 'string' || !field.resolve || !ext.pothosConfig) continue;
      const guarded = field.resolve;
      const bare = ext.pothosConfig.resolve ?? defaultFieldResolver;
      field.resolve = (parent, args, context, info) =>
        (context as Marked | undefined)?.[PRECHECKED] === info.operation ? bare(parent, args, context, info) : guarded(parent, args, context, info);
    }
  }
}

/** schema -> operation -> the scopes it asks for (null: not decidable here) */
const cached = new WeakMap<GraphQLSchema, WeakMap<OperationDefinitionNode, Set<string> | null>>();

/**
 * Marks `context` for `op` when `granted` holds every scope the operation's fields ask for.
 * Documents are cached by the servers (yoga's parser cache, the fast path's checked ones), so
 * the operation's scopes are found once per document.
 */
export function precheckScopes(schema: GraphQLSchema, document: DocumentNode, op: OperationDefinitionNode, context: object, granted: Readonly<Record<string, boolean>>): void {
  let bySchema = cached.get(schema);
  if (!bySchema) cached.set(schema, (bySchema = new WeakMap()));
  let scopes = bySchema.get(op);
  if (scopes === undefined) bySchema.set(op, (scopes = operationScopes(schema, document, op)));
  if (!scopes) return;
  for (const s of scopes) if (granted[s] !== true) return;
  (context as Marked)[PRECHECKED] = op;
}
