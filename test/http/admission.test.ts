/**
 * The admission gate on its own: slots, the bounded queue, the deadline counted from arrival
 * (queued → 503, running → 504 and the abandon signal), and search queries waiting ahead of batch
 * work. End-to-end behaviour under real slow models is in limits.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { AdmissionGate } from "../../src/http/admission.ts";
import { RequestError } from "../../src/pipeline/request-error.ts";
import { requestSignal } from "../../src/runtime/request-scope.ts";

/** Work that ends when the test says so, recording when it started. */
function controlled(label: string, started: string[]) {
  let finish!: () => void;
  const done = new Promise<string>((resolve) => (finish = () => resolve(label)));
  return {
    work: () => {
      started.push(label);
      return done;
    },
    finish,
  };
}

const statusOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 200,
    (error: unknown) => (error instanceof RequestError ? error.status : 500),
  );

describe("admission gate", () => {
  test("beyond the running and queued limits a request is refused at once with 503 and Retry-After", async () => {
    const gate = new AdmissionGate(1, 1);
    const started: string[] = [];
    const a = controlled("a", started);
    const b = controlled("b", started);
    const first = gate.run(a.work);
    const second = gate.run(b.work);
    const refused = gate.run(async () => "never");
    const error = await refused.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestError);
    expect([(error as RequestError).status, (error as RequestError).headers["Retry-After"]]).toEqual([503, "1"]);
    expect([gate.inFlight, gate.queueDepth]).toEqual([1, 1]);
    a.finish();
    expect(await first).toBe("a");
    expect(started).toEqual(["a", "b"]);
    b.finish();
    expect(await second).toBe("b");
    expect([gate.inFlight, gate.queueDepth]).toEqual([0, 0]);
  });

  test("search queries wait ahead of queued batch work, in their own arrival order", async () => {
    const gate = new AdmissionGate(1, 10);
    const started: string[] = [];
    const jobs = ["running", "scan1", "scan2", "search1", "search2"].map((label) => controlled(label, started));
    const runs = jobs.map((job) => gate.run(job.work, 0, job === jobs[3] || job === jobs[4]));
    for (const job of jobs) {
      job.finish();
      await Bun.sleep(0);
    }
    await Promise.all(runs);
    expect(started).toEqual(["running", "search1", "search2", "scan1", "scan2"]);
  });

  test("the deadline counts from admission: still queued → 503, running → 504 with its abandon signal fired", async () => {
    const gate = new AdmissionGate(1, 10);
    let signal: AbortSignal | undefined;
    let finish!: () => void;
    const running = gate.run(() => {
      signal = requestSignal();
      return new Promise<void>((resolve) => (finish = resolve));
    }, 0.05);
    const queued = gate.run(async () => "never started", 0.05);
    expect(await Promise.all([statusOf(queued), statusOf(running)])).toEqual([503, 504]);
    expect(signal?.aborted).toBe(true);
    // The timed-out work still holds its slot until it really ends.
    expect([gate.inFlight, gate.queueDepth]).toEqual([1, 0]);
    finish();
    await Bun.sleep(0);
    expect(gate.inFlight).toBe(0);
  });
});

describe("a client that disconnects", () => {
  test("leaves the queue if it waits, fires its abandon signal if it runs; the slot stays taken until the work ends", async () => {
    const gate = new AdmissionGate(1, 10);
    const started: string[] = [];
    let signal: AbortSignal | undefined;
    let finish!: () => void;
    const runningClient = new AbortController();
    const running = gate.run(
      () => {
        signal = requestSignal();
        return new Promise<void>((resolve) => (finish = resolve));
      },
      0,
      false,
      runningClient.signal,
    );
    const queuedClient = new AbortController();
    const queued = gate.run(controlled("queued", started).work, 0, false, queuedClient.signal);
    expect(gate.queueDepth).toBe(1);
    queuedClient.abort();
    expect(await statusOf(queued)).toBe(499);
    expect(gate.queueDepth).toBe(0);
    runningClient.abort();
    expect(await statusOf(running)).toBe(499);
    expect(signal?.aborted).toBe(true);
    expect(gate.inFlight).toBe(1);
    finish();
    await Bun.sleep(0);
    expect([gate.inFlight, started]).toEqual([0, []]);
  });

  test("already gone before admission: nothing starts", async () => {
    const gate = new AdmissionGate(1, 10);
    const started: string[] = [];
    const gone = AbortSignal.abort();
    expect(await statusOf(gate.run(controlled("late", started).work, 0, false, gone))).toBe(499);
    expect([gate.inFlight, started]).toEqual([0, []]);
  });
});
