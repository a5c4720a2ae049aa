/**
 * Entry of an inference thread (onnx-session.ts starts it): sessions only, so no kernel table.
 * Named `*-thread.ts` so that scripts/build.ts carries it into the single executable.
 */
import { serveJobs } from "./thread-jobs.ts";

serveJobs({});
