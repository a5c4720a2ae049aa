/**
 * How a session's idle intra-op threads wait for the next parallel section of a run: the
 * onnxruntime session config entries for it, shared by the C-API sessions (ort-capi.ts) and the
 * accelerators' onnxruntime-node sessions (session-host.ts).
 *
 * Scan sessions never spin: a spinning thread holds its core between parallel sections, which is
 * exactly when pre-processing and the other processes of an Immich host should run. An
 * interactive session (a search query on 2+ intra-op threads) spins for a short window instead:
 * a sleeping worker is woken through the kernel for each of the text tower's parallel sections,
 * which made its run 1.05-1.13x the plain floor's (onnxruntime's default, spinning); with a
 * 100 µs window 1.00x, the query floor + 2.2 ms against + 4.6-6.3 ms, and beside a nice-0 hog on
 * every core 75-84 ms against 67-106 (bench/RESULTS.md). onnxruntime's own default window is
 * open-ended enough that spinning whole runs made the busy neighbour worse (99-100 ms against
 * 71-88); this one ends, and the run's end stops it at once (`force_spinning_stop`).
 */

/** The spin window of interactive sessions. 50 and 200 µs measured alike. */
export const INTERACTIVE_SPIN_MICROSECONDS = 100;

/** The config entries for idle intra-op threads that spin `microseconds` (0: they sleep at once). */
export function intraOpSpinEntries(microseconds: number): Record<string, string> {
  if (!(microseconds > 0)) return { "session.intra_op.allow_spinning": "0" };
  return {
    "session.intra_op.allow_spinning": "1",
    "session.intra_op.spin_duration_us": String(Math.round(microseconds)),
    "session.force_spinning_stop": "1",
  };
}
