/** A bounded load: `total` requests from `concurrency` clients, each outcome kept, with hooks on progress. */
export interface LoadResult {
  statuses: Map<number | "network-error", number>;
  failed: number;
}

export async function runLoad(
  total: number,
  concurrency: number,
  send: (i: number) => Promise<Response>,
  onProgress: (done: number) => void = () => {},
): Promise<LoadResult> {
  const statuses = new Map<number | "network-error", number>();
  let next = 0;
  let done = 0;
  const client = async () => {
    while (next < total) {
      const i = next++;
      let status: number | "network-error";
      try {
        const response = await send(i);
        await response.arrayBuffer();
        status = response.status;
      } catch {
        status = "network-error";
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      onProgress(++done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { statuses, failed: total - (statuses.get(200) ?? 0) };
}
