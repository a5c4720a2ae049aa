/**
 * A live status line on stderr while a model downloads: bytes so far, rate and elapsed time. The
 * Hub source reports its progress only to the log, so the byte count is read from the model
 * folder on disk (finished files plus the growing `.partial` one). Log lines are printed above
 * the status line; without a terminal nothing live is drawn and the log alone shows progress.
 */
import { setLogSink } from "../log.ts";
import { folderSize } from "./folder-size.ts";
import { formatBytes } from "./format-bytes.ts";

export interface DownloadTotals {
  bytes: number;
  seconds: number;
}

export class DownloadProgress {
  private readonly started = performance.now();
  private readonly baseline: number;
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private readonly previousSink: ((line: string) => void) | undefined;

  constructor(
    private readonly label: string,
    private readonly dir: string,
  ) {
    this.baseline = folderSize(dir);
    if (!process.stderr.isTTY) return;
    this.previousSink = setLogSink((line) => {
      this.clear();
      process.stderr.write(`${line}\n`);
      this.draw();
    });
    this.timer = setInterval(() => this.draw(), 250);
  }

  private totals(): DownloadTotals {
    return { bytes: Math.max(0, folderSize(this.dir) - this.baseline), seconds: (performance.now() - this.started) / 1000 };
  }

  private draw(): void {
    const { bytes, seconds } = this.totals();
    process.stderr.write(`\r\x1b[K${this.label}: ${formatBytes(bytes)}  ${formatBytes(bytes / Math.max(seconds, 0.001))}/s  ${seconds.toFixed(0)} s`);
  }

  private clear(): void {
    process.stderr.write("\r\x1b[K");
  }

  /** Removes the status line, restores the log and returns what was downloaded. */
  stop(): DownloadTotals {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.clear();
    }
    if (this.previousSink) setLogSink(this.previousSink);
    return this.totals();
  }
}
