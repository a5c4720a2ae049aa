/** Test-wide setup: keep logs quiet unless a test asks for them. */
import { setLogLevel } from "../src/log.ts";

setLogLevel(process.env.TEST_LOG_LEVEL === "debug" ? "debug" : "critical");
