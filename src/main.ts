#!/usr/bin/env bun
/**
 * Entry point. Before anything else loads, the server may re-execute itself in place to get
 * glibc's huge-page malloc (runtime/huge-page-malloc.ts); then the program proper starts.
 */
import { reexecWithHugePageMalloc } from "./runtime/huge-page-malloc.ts";

reexecWithHugePageMalloc();
await import("./start.ts");
