/**
 * Entry of a tesseract worker thread (tesseract-worker.ts starts it): tesseract.js's own Node
 * worker script, which answers the protocol on `parentPort`. A file of ours, named `*-thread.ts`,
 * so that scripts/build.ts can carry it into the single executable as an entry point.
 */
import "tesseract.js/src/worker-script/node/index.js";
