/**
 * Downloads a model repository from the Hugging Face Hub (or any server speaking its API, via
 * `HF_ENDPOINT`) into a model folder, the way upstream's `snapshot_download(local_dir=…)` lays it
 * out: repository root = model folder. Each file is streamed to `<file>.partial` and renamed into
 * place only once complete and verified, so an interrupted download is never taken as cached.
 */
import { listFiles, downloadFile } from "@huggingface/hub";
import { createHash } from "node:crypto";
import { mkdir, rename, rm, open } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { log } from "../log.ts";
import { fetchWithTimeouts, type Fetch, type FetchPolicy } from "../net/fetch-with-timeouts.ts";

export interface HubDownloadRequest {
  repo: string;
  revision: string;
  destination: string;
  hubUrl: string;
  token: string | undefined;
  /** Timeouts and retries of the listing and of each file. */
  network: FetchPolicy;
  /** Only repository paths for which this returns true are fetched. */
  include: (path: string) => boolean;
  onProgress?: (progress: DownloadProgress) => void;
}

export interface DownloadProgress {
  file: string;
  receivedBytes: number;
  totalBytes: number;
}

export class DownloadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DownloadError";
  }
}

interface RemoteFile {
  path: string;
  size: number;
  /** SHA-256 of the content for LFS files (all model weights are LFS). */
  sha256: string | undefined;
}

async function listRemoteFiles(request: HubDownloadRequest, fetch: Fetch): Promise<RemoteFile[]> {
  const files: RemoteFile[] = [];
  const credentials = request.token ? { accessToken: request.token } : {};
  for await (const entry of listFiles({
    repo: { type: "model", name: request.repo },
    revision: request.revision,
    recursive: true,
    hubUrl: request.hubUrl,
    fetch: fetch as typeof globalThis.fetch,
    ...credentials,
  })) {
    if (entry.type !== "file" || !request.include(entry.path)) continue;
    files.push({ path: entry.path, size: entry.lfs?.size ?? entry.size, sha256: entry.lfs?.oid });
  }
  return files;
}

/**
 * Where a listed file goes, or a DownloadError if its path would leave the model folder (`..`,
 * an absolute path): a hostile hub or mirror must not write over anything else, least of all the
 * extracted native libraries the next start would load.
 */
function targetInside(request: HubDownloadRequest, path: string): string {
  const target = resolve(request.destination, path);
  const inside = relative(resolve(request.destination), target);
  if (path.includes("\0") || inside === "" || inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new DownloadError(`${request.repo}@${request.revision} lists ${JSON.stringify(path)}, a path outside the model folder; nothing was downloaded`);
  }
  return target;
}

async function fetchFile(request: HubDownloadRequest, file: RemoteFile, fetch: Fetch): Promise<void> {
  const target = targetInside(request, file.path);
  const partial = `${target}.partial`;
  await mkdir(dirname(target), { recursive: true });
  const blob = await downloadFile({
    repo: { type: "model", name: request.repo },
    path: file.path,
    revision: request.revision,
    hubUrl: request.hubUrl,
    xet: false,
    fetch: fetch as typeof globalThis.fetch,
    ...(request.token ? { accessToken: request.token } : {}),
  });
  if (!blob) throw new DownloadError(`${request.repo}: ${file.path} is listed but cannot be downloaded`);

  const hash = createHash("sha256");
  const handle = await open(partial, "w");
  let received = 0;
  try {
    try {
      const reader = blob.stream().getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        hash.update(value);
        await handle.write(value);
        received += value.byteLength;
        request.onProgress?.({ file: file.path, receivedBytes: received, totalBytes: file.size });
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (received !== file.size) throw new DownloadError(`${request.repo}: ${file.path} ended after ${received} of ${file.size} bytes`);
    const digest = hash.digest("hex");
    if (file.sha256 && digest !== file.sha256) throw new DownloadError(`${request.repo}: ${file.path} has SHA-256 ${digest}, expected ${file.sha256}`);
  } catch (error) {
    // Never taken as cached anyway, but on a full disk a half-written file holds the space the next try needs.
    await rm(partial, { force: true });
    throw error;
  }
  await rename(partial, target);
}

/** Fetches every included file of the repository; returns the repository paths written. */
export async function downloadHubRepository(request: HubDownloadRequest): Promise<string[]> {
  const fetch = fetchWithTimeouts(request.network);
  let files: RemoteFile[];
  try {
    files = await listRemoteFiles(request, fetch);
  } catch (error) {
    throw new DownloadError(`Cannot list ${request.repo}@${request.revision} on ${request.hubUrl}: ${describe(error)}`, {
      cause: error,
    });
  }
  if (files.length === 0) throw new DownloadError(`${request.repo}@${request.revision} has no files to download`);
  // Every path is checked before the first byte is written.
  for (const file of files) targetInside(request, file.path);
  const total = files.reduce((sum, file) => sum + file.size, 0);
  log.info(`Downloading ${request.repo} (${files.length} files, ${(total / 1e6).toFixed(1)} MB) to ${request.destination}`);
  for (const file of files) {
    try {
      await fetchFile(request, file, fetch);
    } catch (error) {
      if (error instanceof DownloadError) throw error;
      throw new DownloadError(`Downloading ${request.repo}/${file.path} failed: ${describe(error)}`, { cause: error });
    }
  }
  log.info(`Downloaded ${request.repo}`);
  return files.map((file) => file.path);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
