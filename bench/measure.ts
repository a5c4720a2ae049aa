/**
 * The measurements, each taken against its floor in the same run: sequential latency (service
 * request and raw plan in alternation, so that a noisy machine slows both alike), the floor's
 * back-to-back rate, and the service at saturation (autocannon) with /ping sampled meanwhile and
 * the server's stage timers read before and after.
 */
import { resolve } from "node:path";
import type { FloorProcess } from "./floor-client.ts";
import { percentile, runAutocannon, type LoadRequest, type LoadResult, type ServerProcess } from "./lib.ts";
import type { Scenario } from "./scenarios.ts";
import { stageProfile, stageTotals, type StageProfile } from "./stage-profile.ts";

export interface Latency {
  p50: number;
  p99: number;
}

export const summarize = (samples: number[]): Latency => ({ p50: percentile(samples, 50), p99: percentile(samples, 99) });

export async function postRequest(url: string, request: LoadRequest): Promise<void> {
  const response = await fetch(`${url}/predict`, { method: "POST", body: request.body, headers: { "content-type": request.contentType } });
  const text = await response.text();
  if (!response.ok) throw new Error(`/predict answered ${response.status}: ${text.slice(0, 300)}`);
}

/** `rounds` × (one service request, one raw run of its plan), one after the other. */
export async function sequentialLatency(url: string, scenario: Scenario, floor: FloorProcess, rounds: number): Promise<{ service: Latency; floor: Latency }> {
  const service: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await postRequest(url, scenario.requests[0]!);
    service.push(performance.now() - started);
    raw.push(await floor.once(scenario.id));
  }
  return { service: summarize(service), floor: summarize(raw) };
}

export interface Saturation {
  load: LoadResult;
  ping: Latency & { max: number; samples: number };
  profile: StageProfile;
}

/** autocannon at `connections` for `seconds`, /ping sampled from its own process meanwhile. */
export async function saturate(server: ServerProcess, requests: LoadRequest[], connections: number, seconds: number): Promise<Saturation> {
  const before = await stageTotals(server.url);
  const sampler = Bun.spawn([process.execPath, resolve(import.meta.dir, "ping-sampler.ts"), server.url, String(seconds)], { stdout: "pipe" });
  const load = await runAutocannon(`${server.url}/predict`, requests, connections, seconds);
  const pings = JSON.parse(await new Response(sampler.stdout).text()) as number[];
  const after = await stageTotals(server.url);
  return {
    load,
    ping: { ...summarize(pings), max: Math.max(...pings), samples: pings.length },
    profile: stageProfile(before, after, load.completed, seconds),
  };
}
