/**
 * Polls `condition` until it holds, for work the test cannot be told about (an eviction sweep, a
 * thread stopping). Fails naming `what` after `timeoutMs`, so a slow machine only waits longer
 * where a fixed sleep would have failed, and a broken one fails instead of hanging.
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const giveUp = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > giveUp) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}
