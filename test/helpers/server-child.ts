/**
 * The server as a child process, for tests whose subject is the process itself: a crash, a
 * restart, a start-up failure. By default from the TypeScript sources (tsx), so these tests
 * don't race the build of dist/ that the process test makes; it passes npm start's arguments.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerChild {
  child: ChildProcess;
  /** resolves with the exit code once the process ended */
  exited: Promise<number | null>;
  /** stdout and stderr so far */
  output(): string;
}

const FROM_SOURCES = ['--import', 'tsx', 'src/main.ts'];

/** Call at file level: starts servers with `env` (exactly that environment) and kills those left after each test. */
export function useServerChildren(): (env: NodeJS.ProcessEnv, nodeArgs?: readonly string[]) => ServerChild {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  return (env, nodeArgs = FROM_SOURCES) => {
    const child = spawn(process.execPath, [...nodeArgs], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, exited, output: () => out };
  };
}
