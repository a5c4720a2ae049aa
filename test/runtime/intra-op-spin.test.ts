import { describe, expect, test } from "bun:test";
import { intraOpSpinEntries } from "../../src/runtime/intra-op-spin.ts";

describe("intra-op spin entries", () => {
  test("no window: idle threads sleep at once, nothing else set", () => {
    expect(intraOpSpinEntries(0)).toEqual({ "session.intra_op.allow_spinning": "0" });
    // A window that is not a positive number is no window.
    expect(intraOpSpinEntries(-5)).toEqual({ "session.intra_op.allow_spinning": "0" });
    expect(intraOpSpinEntries(Number.NaN)).toEqual({ "session.intra_op.allow_spinning": "0" });
  });

  test("a window: spinning allowed for that many whole microseconds, stopped when the run ends", () => {
    expect(intraOpSpinEntries(100)).toEqual({
      "session.intra_op.allow_spinning": "1",
      "session.intra_op.spin_duration_us": "100",
      "session.force_spinning_stop": "1",
    });
    expect(intraOpSpinEntries(12.6)["session.intra_op.spin_duration_us"]).toBe("13");
  });
});
