/**
 * Commands sent on one connection in the same turn of the event loop leave in one write (one
 * syscall) instead of one each. Under load many requests reach the store in the same turn:
 * the sends a rate-limit reply lets through all continue in that reply's microtasks, and each
 * wrote its script call on its own, which made the write syscall the largest single cost of
 * a send. The socket is corked at a turn's first command and uncorked once the turn's
 * microtasks have run, so nothing waits for a later turn (ioredis's auto-pipelining waits for
 * setImmediate and builds a pipeline per batch; it cost more than it saved here).
 *
 * One node only: a Cluster client auto-pipelines per node already (connect.ts).
 */
import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

const corked = new Set<Socket>();

function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
}

/** From now on, `redis`'s commands of one turn leave together (once per connection). */
export function coalesceCommands(redis: Redis): void {
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    // ioredis replaces the socket on reconnect: cork the one this command is written to.
    const socket = (redis as unknown as { stream?: Socket }).stream;
    if (!stream && socket && !corked.has(socket) && redis.status === 'ready' && !socket.destroyed) {
      if (corked.size === 0) process.nextTick(uncorkAll);
      corked.add(socket);
      socket.cork();
    }
    return send(command, stream);
  };
}
