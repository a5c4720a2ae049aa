/**
 * One Tesseract (tesseract.js's WebAssembly build) reading one language, on its own worker_threads
 * thread: recognition never runs on the HTTP event loop. Works under Bun as under Node.
 *
 * We start tesseract.js's worker script ourselves and speak its message protocol instead of calling
 * `createWorker`, because `createWorker` (7.0.0, checked under Bun 1.4.5) cannot survive bad
 * language data: when Tesseract's initialisation fails the script answers twice (reject, then
 * resolve), and `createWorker`'s listener throws on the second answer, which ends the process; even
 * with an error handler its promise never settles and the thread is never ended. Owning the thread
 * lets a failed start reject, end the thread, and leave the service running. The protocol is that
 * of the exact tesseract.js version package.json pins.
 */
import { Worker } from "node:worker_threads";
import { log } from "../../../log.ts";
import type { RgbImage } from "../../../imaging/rgb-image.ts";
import { pnmImage } from "./pnm-image.ts";
import type { TesseractPage } from "./page-lines.ts";

/** Tesseract's LSTM-only engine (`OEM.LSTM_ONLY`): what tesseract.js's best_int data holds. */
const OEM_LSTM_ONLY = 1;

/**
 * `PSM.SPARSE_TEXT`: find as much text as possible in no particular order. Photos are not pages;
 * the default page layout analysis reads sign photos as a few lines of mostly noise (the fixture
 * parking sign: every line under 50 % confidence), sparse text finds the words (96 %).
 */
const SPARSE_TEXT = "11";

interface Reply {
  jobId: number;
  status: "resolve" | "reject" | "progress";
  data: unknown;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class TesseractWorker {
  private readonly pending = new Map<number, Pending>();
  private nextJob = 1;
  private failure: Error | undefined;

  private constructor(private readonly thread: Worker) {
    thread.on("message", (reply: Reply) => this.settle(reply));
    thread.on("error", (error) => this.fail(error instanceof Error ? error : new Error(String(error))));
    thread.on("exit", (code) => this.fail(new Error(`tesseract worker exited with code ${code}`)));
    // Tesseract prints progress and Leptonica warnings ("Error in boxClipToRectangle") as it works.
    thread.stdout.on("data", (chunk: Buffer) => log.debug(`tesseract: ${chunk.toString().trimEnd()}`));
    thread.stderr.on("data", (chunk: Buffer) => log.debug(`tesseract: ${chunk.toString().trimEnd()}`));
  }

  /** Starts a worker reading `<dataDir>/<language>.traineddata.gz`; rejects (thread ended) if it cannot. */
  static async start(language: string, dataDir: string): Promise<TesseractWorker> {
    const thread = new Worker(new URL("./tesseract-thread.ts", import.meta.url), { stdout: true, stderr: true });
    const worker = new TesseractWorker(thread);
    try {
      // The script's Node core loader compares `lstmOnly` with OEM codes: this picks the LSTM-only build.
      await worker.call("load", { options: { lstmOnly: OEM_LSTM_ONLY, logging: false } });
      // `cacheMethod: "none"`: otherwise the script also reads and writes `./<lang>.traineddata` in the working directory.
      await worker.call("loadLanguage", { langs: language, options: { langPath: dataDir, gzip: true, cacheMethod: "none", lstmOnly: true } });
      await worker.call("initialize", { langs: language, oem: OEM_LSTM_ONLY, config: {} });
      // `debug_file`: keeps Tesseract's per-image chatter ("Estimating resolution as 389") off the output.
      await worker.call("setParameters", { params: { tessedit_pageseg_mode: SPARSE_TEXT, debug_file: "/dev/null" } });
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    return worker;
  }

  /** Text lines with their boxes and confidences (0–100), as Tesseract's page layout reports them. */
  async read(image: RgbImage): Promise<TesseractPage> {
    const pnm = pnmImage(image);
    // Transferred, not copied: the main thread only writes the PPM once.
    return (await this.call("recognize", { image: pnm, options: {}, output: { text: false, blocks: true } }, [pnm.buffer as ArrayBuffer])) as TesseractPage;
  }

  async terminate(): Promise<void> {
    this.fail(new Error("tesseract worker was stopped"));
    await this.thread.terminate();
  }

  private call(action: string, payload: unknown, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const jobId = this.nextJob++;
    return new Promise((resolve, reject) => {
      this.pending.set(jobId, { resolve, reject });
      this.thread.postMessage({ workerId: "immich-ml", jobId, action, payload }, transfer);
    });
  }

  /** First answer wins: a failed `initialize` is answered with a reject and then a resolve. */
  private settle({ jobId, status, data }: Reply): void {
    if (status === "progress") return;
    const pending = this.pending.get(jobId);
    if (!pending) return;
    this.pending.delete(jobId);
    if (status === "resolve") pending.resolve(data);
    else pending.reject(new Error(`tesseract: ${String(data)}`));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
