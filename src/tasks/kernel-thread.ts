/**
 * Entry of a pre/post-processing worker thread (the worker pool starts it, see kernels.ts): serves
 * every task's kernels. Named `*-thread.ts` so that scripts/build.ts carries it into the single
 * executable.
 */
import "../native/loader.ts"; // first: native set-up before any kernel code loads
import { serveJobs } from "../runtime/thread-jobs.ts";
import { kernels } from "./kernel-table.ts";

serveJobs(kernels);
