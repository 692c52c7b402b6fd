/**
 * Benchmark runner:  npm run bench -- <scenario> [--cluster] [options]
 *
 * Each scenario is its own file exporting a {@link Scenario}; list it in SCENARIOS below. The
 * runner parses the scenario's options, gives it a Redis (a private redis-server on a free port,
 * or BENCH_REDIS_URL; with `--cluster`, a private Redis Cluster of 3 masters and 3 replicas
 * whose server processes get REDIS_CLUSTER_NODES; see redis-server.ts), and tears that down
 * afterwards. Scenarios print figures; they assert nothing.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { broadcastScenario } from './broadcast.js';
import { connectionsScenario } from './connections.js';
import { dashboardScenario } from './dashboard.js';
import { deliveriesScenario } from './deliveries.js';
import { fanoutScenario } from './fanout.js';
import { hotPathsScenario } from './hot-paths.js';
import { openBenchRedis } from './redis-server.js';
import { mastersOf } from '../src/store/redis/client.js';
import { reminderScenario } from './reminder.js';
import { slowConsumerScenario } from './slow-consumer.js';
import { soakScenario } from './soak.js';
import { parsePositiveInt, type ParsedOptions, type Scenario } from './scenario.js';

/** The runner's own flag, accepted anywhere after the scenario's name. */
const CLUSTER_FLAG = '--cluster';

const SCENARIOS: readonly Scenario[] = [hotPathsScenario, broadcastScenario, fanoutScenario, connectionsScenario, dashboardScenario, reminderScenario, deliveriesScenario, soakScenario, slowConsumerScenario];

function scenarioList(): string {
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  return SCENARIOS.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`).join('\n');
}

function usage(s: Scenario): string {
  const opts = Object.entries(s.options).map(([name, o]) => {
    const flag = o.type === 'boolean' ? `--${name}` : `--${name} <${o.type === 'int' ? 'n' : 'value'}>`;
    const def = o.default === undefined || o.default === false ? '' : ` (default ${String(o.default)})`;
    return `  ${flag.padEnd(24)} ${o.description}${def}`;
  });
  return [
    `usage: npm run bench -- ${s.name} [${CLUSTER_FLAG}] [options]`,
    `  ${CLUSTER_FLAG.padEnd(24)} run on a private Redis Cluster (3 masters + 3 replicas) instead of one redis-server`,
    ...opts,
  ].join('\n');
}

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  const cluster = args.includes(CLUSTER_FLAG);
  const rest = args.filter((a) => a !== CLUSTER_FLAG);
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) {
    console.error(`${name === undefined ? 'no scenario given' : `unknown scenario "${name}"`}. Scenarios:\n${scenarioList()}`);
    console.error(`\nusage: npm run bench -- <scenario> [${CLUSTER_FLAG}] [options]   (BENCH_REDIS_URL=redis://... to use an existing Redis; ${CLUSTER_FLAG}: a private Redis Cluster)`);
    return 1;
  }

  // Every option is checked here, before a redis-server is started for nothing.
  let options: ParsedOptions;
  try {
    const { values } = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries(scenario.options).map(([k, o]) => [
          k,
          o.type === 'boolean' ? { type: 'boolean' as const } : { type: 'string' as const, ...(o.default === undefined ? {} : { default: String(o.default) }) },
        ]),
      ),
      strict: true,
      allowPositionals: false,
    });
    options = {};
    for (const [k, o] of Object.entries(scenario.options)) {
      const v = values[k];
      options[k] = o.type === 'int' && typeof v === 'string' ? parsePositiveInt(k, v) : v ?? (o.type === 'boolean' ? false : undefined);
    }
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage(scenario)}`);
    return 1;
  }

  const redis = await openBenchRedis({ cluster });
  try {
    const client = await redis.connect();
    const server = String(await mastersOf(client)[0]!.info('server'));
    const version = /^redis_version:(\S+)/m.exec(server)?.[1] ?? '?';
    const where =
      redis.kind === 'cluster'
        ? `a private Redis Cluster of ${mastersOf(client).length} masters + replicas at ${redis.url} (shut down at the end; used_memory summed over the masters)`
        : `${redis.url} (${redis.isPrivate ? 'private server, killed at the end' : 'BENCH_REDIS_URL: shared, used_memory figures include other clients'})`;
    console.log(`bench ${scenario.name}  ${process.argv.slice(3).join(' ')}`.trimEnd());
    console.log(`node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; redis ${version} at ${where}; key prefix ${redis.prefix}`);
    await scenario.run({ redis, options });
    console.log(`\nload average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    return 0;
  } finally {
    await redis.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
