import { GraphQLError, Kind } from 'graphql';
import { builder } from './builder.js';
import { isoTime } from './iso-time.js';

const badDate = (v: unknown) =>
  new GraphQLError(`DateTime must be an ISO-8601 string with an offset, e.g. 2026-11-24T17:10:00.000Z (got ${JSON.stringify(v)})`, {
    extensions: { code: 'BAD_USER_INPUT' },
  });

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function parseDate(v: unknown): Date {
  if (typeof v !== 'string' || !ISO_WITH_OFFSET.test(v)) throw badDate(v);
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw badDate(v);
  return d;
}

builder.scalarType('DateTime', {
  description: 'ISO-8601 date-time with offset, e.g. 2026-11-24T17:10:00.000Z',
  serialize: isoTime,
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined),
});

builder.scalarType('JSON', {
  description: 'Any JSON value',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: function literal(ast, variables): unknown {
    switch (ast.kind) {
      case Kind.STRING:
      case Kind.BOOLEAN:
        return ast.value;
      case Kind.INT:
      case Kind.FLOAT:
        return Number(ast.value);
      case Kind.NULL:
        return null;
      case Kind.LIST:
        return ast.values.map((x) => literal(x, variables));
      case Kind.OBJECT:
        return Object.fromEntries(ast.fields.map((f) => [f.name.value, literal(f.value, variables)]));
      case Kind.VARIABLE:
        return variables?.[ast.name.value];
      default:
        return undefined;
    }
  },
});
