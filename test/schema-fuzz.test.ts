/**
 * Schema-aware fuzz: documents built at random from schema.graphql (every root field, random
 * selections, right- and wrong-typed arguments: huge lists, deep input objects, unicode, NUL
 * bytes, numbers beyond Int), inline and as variables, as every kind of caller. Each must be
 * answered in bounded time with a result or errors that carry extensions.code, and never with
 * a 5xx or INTERNAL_SERVER_ERROR. Seeded (FUZZ_SEED), so a failure can be replayed.
 */
import { readFileSync } from 'node:fs';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { ADMIN, SERVICE, useTestApp } from './helpers/app.js';
import { prng } from './helpers/prng.js';

const schema = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const DOCUMENTS = 400;


/** A literal in GraphQL syntax; enums are marked so they print bare. */
class EnumValue {
  constructor(readonly name: string) {}
}

function printLiteral(v: unknown): string {
  if (v instanceof EnumValue) return v.name;
  if (Array.isArray(v)) return `[${v.map(printLiteral).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${printLiteral(x)}`).join(', ')}}`;
  if (typeof v === 'number' && !Number.isFinite(v)) return '0';
  return JSON.stringify(v) ?? 'null';
}

function toJson(v: unknown): unknown {
  if (v instanceof EnumValue) return v.name;
  if (Array.isArray(v)) return v.map(toJson);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return v;
}

function generator(rnd: () => number) {
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number) => rnd() < p;
  const STRINGS = ['', 'a', 'kim', '\u0000', 'a\u0000b', '☃🦄\u202e', 'x'.repeat(10_000), '"; DROP', '000000003uu', '-1', '{}', 'ZZZZZZZZZZZZ', '💩'.repeat(300), '\ud800'];
  const NUMBERS = [0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 1e308, 0.5, -0.0001, 100, 101, 1_000_000];

  const wrong = (depth = 0): unknown =>
    pick<() => unknown>([
      () => pick(STRINGS),
      () => pick(NUMBERS),
      () => chance(0.5),
      () => null,
      () => Array.from({ length: depth === 0 && chance(0.3) ? 5000 : 3 }, () => (depth < 2 ? wrong(depth + 1) : 1)),
      () => deep(chance(0.5) ? 200 : 20),
      () => ({ bogus: pick(STRINGS) }),
      () => new EnumValue(pick(['ALL', 'NOPE', 'true', 'WEBHOOK'])),
    ])();
  const deep = (n: number): unknown => (n === 0 ? 1 : { a: deep(n - 1) });

  const value = (type: GraphQLInputType, depth = 0): unknown => {
    if (chance(0.12)) return wrong(depth);
    if (isNonNullType(type)) return value(type.ofType, depth);
    if (chance(0.08)) return null;
    if (isListType(type)) {
      // A huge list of scalars (2 000 ids), or a few of anything.
      if (depth === 0 && chance(0.1)) return Array.from({ length: 2000 }, (_, i) => (isInputObjectType(getNamedType(type)) ? {} : `id${i}`));
      return Array.from({ length: Math.floor(rnd() * 4) }, () => value(type.ofType, depth + 1));
    }
    if (isEnumType(type)) return new EnumValue(pick(type.getValues()).name);
    if (isInputObjectType(type)) {
      if (depth > 6) return {};
      const out: Record<string, unknown> = {};
      for (const f of Object.values(type.getFields())) if (isNonNullType(f.type) || chance(0.5)) out[f.name] = value(f.type, depth + 1);
      return out;
    }
    if (isScalarType(type)) {
      switch (type.name) {
        case 'Int':
          return chance(0.8) ? Math.floor(rnd() * 200) - 20 : pick(NUMBERS);
        case 'Float':
          return pick(NUMBERS);
        case 'Boolean':
          return chance(0.5);
        case 'ID':
        case 'String':
          return pick(STRINGS);
        default:
          // custom scalars (DateTime, JSON, …): something plausible or not
          return pick<unknown>(['2026-12-03T10:00:00Z', '2026-13-45T99:99:99Z', 'yesterday', 0, 1e20, { a: 1 }, [1, 2], pick(STRINGS)]);
      }
    }
    return null;
  };

  const selection = (type: GraphQLOutputType, depth: number): string => {
    const named = getNamedType(type) as GraphQLNamedType;
    if (isScalarType(named) || isEnumType(named)) return '';
    if (isUnionType(named)) return `{ __typename ${named.getTypes().map((t) => `... on ${t.name} ${selection(t, depth + 1)}`).join(' ')} }`;
    if (!isObjectType(named) && !isInterfaceType(named)) return '';
    const fields = Object.values((named as GraphQLObjectType).getFields());
    if (depth > 3) return '{ __typename }';
    const chosen = fields.filter(() => chance(0.5)).slice(0, 6);
    const parts = chosen.map((f) => `${f.name}${args(f, null)} ${selection(f.type, depth + 1)}`);
    return `{ __typename ${parts.join(' ')} }`;
  };

  /** Inline arguments, or `$vN` variables declared into `vars` when given. */
  const args = (f: GraphQLField<unknown, unknown>, vars: { decl: string[]; values: Record<string, unknown> } | null): string => {
    const list = f.args.filter((a) => isNonNullType(a.type) || chance(0.5));
    if (list.length === 0) return '';
    return `(${list
      .map((a) => {
        const v = value(a.type);
        if (vars && chance(0.5)) {
          const name = `v${vars.decl.length}`;
          vars.decl.push(`$${name}: ${String(chance(0.9) ? a.type : pick(['Int', 'String!', '[ID!]!', 'Boolean']))}`);
          vars.values[name] = toJson(v);
          return `${a.name}: $${name}`;
        }
        return `${a.name}: ${printLiteral(v)}`;
      })
      .join(', ')})`;
  };

  return (): { query: string; variables: Record<string, unknown> } => {
    const kind = pick(['query', 'query', 'mutation', 'mutation', 'subscription'] as const);
    const root = kind === 'query' ? schema.getQueryType()! : kind === 'mutation' ? schema.getMutationType()! : schema.getSubscriptionType()!;
    const field = pick(Object.values(root.getFields()));
    const vars = { decl: [] as string[], values: {} as Record<string, unknown> };
    const body = `${field.name}${args(field, vars)} ${selection(field.type, 1)}`;
    return { query: `${kind}${vars.decl.length ? `(${vars.decl.join(', ')})` : ''} { ${body} }`, variables: vars.values };
  };
}

describe('schema-aware fuzz', () => {
  const app = useTestApp('memory');

  it(`${DOCUMENTS} random documents (seed ${SEED}) each get a result or coded errors, in bounded time, never a 5xx or INTERNAL_SERVER_ERROR`, { timeout: 120_000 }, async () => {
    const t = app();
    const next = generator(prng(SEED));
    const tokens = [null, await t.token('fuzzer'), await t.token(SERVICE.sub, SERVICE.roles), await t.token(ADMIN.sub, ADMIN.roles)];
    const rnd = prng(SEED + 1);
    let answeredWithData = 0;
    for (let i = 0; i < DOCUMENTS; i++) {
      const { query, variables } = next();
      const token = tokens[Math.floor(rnd() * tokens.length)];
      const started = Date.now();
      const res = await t.app.yoga.fetch('http://test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      const took = Date.now() - started;
      const where = `#${i} (seed ${SEED}) ${res.status} in ${took} ms: ${query.slice(0, 300)}\n${text.slice(0, 400)}`;
      expect(res.status, where).toBeLessThan(500);
      expect(took, where).toBeLessThan(2000);
      // A subscription asked for as plain JSON is refused by status alone (406).
      if (text === '' && res.status >= 400) continue;
      const body = JSON.parse(text) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
      for (const e of body.errors ?? []) {
        expect(e.extensions?.code, where).toEqual(expect.any(String));
        expect(e.extensions?.code, where).not.toBe('INTERNAL_SERVER_ERROR');
      }
      if (body.data && !body.errors) answeredWithData++;
    }
    // The generator reaches resolvers, not only validation.
    expect(answeredWithData).toBeGreaterThan(DOCUMENTS / 20);
  });
});
