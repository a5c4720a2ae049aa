/** Test-wide setup: keep logs quiet unless a test asks for them; remove the test's temp folders at the end. */
import { afterAll } from "bun:test";
import { setLogLevel } from "../src/log.ts";
import { removeTempDirs } from "./support/temp.ts";

setLogLevel(process.env.TEST_LOG_LEVEL === "debug" ? "debug" : "critical");

// In the preload, afterAll runs once, after the last test file.
afterAll(removeTempDirs);
