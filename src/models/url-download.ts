/**
 * Downloads one file over plain HTTP(S) (model sources that are not the Hugging Face Hub): streamed
 * to `<target>.partial`, checked against its SHA-256 where the source publishes one, and renamed
 * into place only once complete, so an interrupted download is never taken as cached.
 */
import { createHash } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { log } from "../log.ts";
import { fetchWithTimeouts, type FetchPolicy } from "../net/fetch-with-timeouts.ts";

export async function fetchVerified(url: string, target: string, sha256: string | undefined, network: FetchPolicy): Promise<void> {
  const response = await fetchWithTimeouts(network)(url);
  if (!response.ok || !response.body) throw new Error(`${url} answered ${response.status}`);
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  const hash = createHash("sha256");
  try {
    const handle = await open(partial, "w");
    try {
      for await (const chunk of response.body) {
        hash.update(chunk);
        await handle.write(chunk);
      }
    } finally {
      await handle.close();
    }
    const digest = hash.digest("hex");
    if (sha256 && digest !== sha256) throw new Error(`${url} has SHA-256 ${digest}, expected ${sha256}`);
    if (!sha256) log.warn(`${url}: no published checksum to verify against (SHA-256 ${digest})`);
    await rename(partial, target);
  } catch (error) {
    // A dropped connection or a wrong checksum leaves nothing behind that a later start could trip on.
    await rm(partial, { force: true });
    throw error;
  }
}
