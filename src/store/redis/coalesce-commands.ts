/**
 * Commands sent on the command connection leave in few writes (syscalls), not one each: a write
 * costs us a syscall and makes Redis read, run and reply once more.
 * - A turn (a callback and its microtasks) that issues several commands writes them at its end.
 *   They are a batch already, and holding them longer would make Redis wait for the rest of the
 *   loop iteration (sends over a WebSocket: one socket's data carries several mutations).
 * - A turn's lone command waits for the end of the poll phase (an immediate) to leave with the
 *   lone commands of the iteration's other callbacks. Under load each HTTP request's data is
 *   its own callback, and each wrote its send's script call on its own, which made that write
 *   the largest single cost of an HTTP send. Nothing waits for I/O or a timer: a pending
 *   immediate keeps the loop from blocking in the poll.
 * ioredis's auto-pipelining also waits for setImmediate, but builds a pipeline per batch, which
 * cost more than it saved here.
 *
 * One node only: a Cluster client auto-pipelines per node already (connect.ts).
 */
import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

const corked = new Set<Socket>();

/** Commands issued in the current turn. */
let turnCommands = 0;

function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
}

function endTurn(): void {
  if (turnCommands > 1) uncorkAll();
  turnCommands = 0;
}

/** From now on, `redis`'s commands leave together as above (once per connection). */
export function coalesceCommands(redis: Redis): void {
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    // ioredis replaces the socket on reconnect: cork the one this command is written to.
    const socket = (redis as unknown as { stream?: Socket }).stream;
    if (!stream && socket && redis.status === 'ready' && !socket.destroyed) {
      if (!corked.has(socket)) {
        if (corked.size === 0) setImmediate(uncorkAll);
        corked.add(socket);
        socket.cork();
      }
      if (turnCommands++ === 0) process.nextTick(endTurn);
    }
    return send(command, stream);
  };
}
