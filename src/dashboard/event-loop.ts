/**
 * Event-loop lag of this process, for the dashboard's system part: a timer that should fire every
 * `intervalMs` measures how late it fires. (perf_hooks.monitorEventLoopDelay on Node 20 did not
 * record a 120 ms block in our test, so the dashboard measures it plainly.)
 */
export interface EventLoopLag {
  /** the longest lag seen since the last call, ms; null when no tick has happened since */
  take(): number | null;
  stop(): void;
}

export function sampleEventLoopLag(intervalMs = 50): EventLoopLag {
  let max: number | null = null;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const lag = Math.max(0, now - last - intervalMs);
    last = now;
    max = max === null ? lag : Math.max(max, lag);
  }, intervalMs);
  timer.unref();
  return {
    take() {
      const m = max;
      max = null;
      return m;
    },
    stop: () => clearInterval(timer),
  };
}
