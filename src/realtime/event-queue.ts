/**
 * A push-based AsyncIterableIterator. Unlike an async generator, `return()` finishes at once
 * even while a consumer waits in `next()`, and runs the cleanup right away; a generator parked
 * on a quiet channel would never reach its `finally` (the classic subscription leak,
 * graphql-redis-subscriptions#124/#197, opencti#16402).
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private readonly waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  /** delivered after the queued items, by the next `next()` */
  private failure: { error: unknown } | null = null;
  private done = false;
  private sink: QueueSink<T> | null = null;

  constructor(private readonly onClose: () => void = () => {}) {}

  get closed(): boolean {
    return this.done;
  }

  push(item: T): void {
    if (this.done) return;
    if (this.sink) return this.sink.next(item);
    const w = this.waiting.shift();
    if (w) w.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  /** Ends the stream after what is queued; with an error, the consumer then gets it. */
  end(error?: unknown): void {
    if (this.done) return;
    if (this.sink) {
      this.finish();
      return this.sink.end(error);
    }
    if (error !== undefined) {
      const w = this.waiting.shift();
      if (w) w.reject(error);
      else this.failure = { error };
    }
    this.finish();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.done) {
      const f = this.failure;
      this.failure = null;
      return f ? Promise.reject(f.error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.failure = null;
    const wasOpen = !this.done;
    this.finish();
    if (wasOpen) this.sink?.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  /**
   * Hands every item, queued and future, to `sink` synchronously instead of queueing it; `end`
   * runs once when the stream ends. For consumers that don't need a promise per item (the
   * WebSocket fan-out writes frames straight to sockets). Use this or `next()`, not both.
   */
  pipeTo(sink: QueueSink<T>): void {
    this.sink = sink;
    for (const item of this.items.splice(0)) sink.next(item);
    if (this.done) {
      const f = this.failure;
      this.failure = null;
      sink.end(f ? f.error : undefined);
    }
  }

  throw(error: unknown): Promise<IteratorResult<T>> {
    this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish() {
    if (this.done) return;
    this.done = true;
    for (const w of this.waiting.splice(0)) w.resolve({ value: undefined, done: true });
    this.onClose();
  }
}

export interface QueueSink<T> {
  next(item: T): void;
  end(error?: unknown): void;
}
