/**
 * Sessions of a text tower at shorter sequence lengths (sequence-length.ts rewrites the graph),
 * each kept only once its outputs have been compared with the full-length session's.
 *
 * A search query is a few tokens in a 77-token context, and the tower computes every position: on
 * the bench's ViT-B/32 text tower (two threads) a run took 36.0 ms at 77 tokens, 11.5 at 8, 13.6 at
 * 16 and 20.0 at 32, with outputs identical bit for bit. Whether a tower's output ignores the positions
 * after the text is a property of its architecture (CLIP's causal mask and end-of-text pooling,
 * M-CLIP's masked mean; not SigLIP's, whose pooled last position sees the padding), so it is
 * measured rather than assumed: the model gives probes, its own tokenizer's encodings of texts
 * that fill each length, and a shorter session is kept only where every probe that fits it gives
 * the full session's embedding (within `TOLERANCE`); the first length that fails ends the attempt.
 *
 * Every session of the model takes its large weights from one mapping of the weights file and
 * shares the copies onnxruntime packs for its kernels (shared-weights.ts, `prepackedWeights`):
 * a shorter session adds its graph and its activations, about 5 MB, not another 150 MB.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { log } from "../log.ts";
import type { Feed, SessionSettings } from "./onnx-session.ts";
import {
  createNativeSession,
  createPrepackedWeights,
  type NativeSession,
  releaseNativeSession,
  releasePrepackedWeights,
  runNativeSession,
} from "./ort-capi.ts";
import { shortenSequence } from "./sequence-length.ts";
import { dropResidentPages, mapSharedWeights, releaseSharedWeights, type SharedWeights } from "./shared-weights.ts";

/** Largest difference accepted between a shorter session's embedding and the full one's (unit vectors). */
const TOLERANCE = 1e-6;

/**
 * Model files found not to shorten (by path, size and modification time), so that a tower reloaded
 * after its eviction does not pay a failed attempt again: a SigLIP2 text tower's first shorter
 * session, made and run once to be refused. Per thread: the shorter sessions of an interactive
 * model are always made on the search thread.
 */
const unshortenable = new Set<string>();

/** What the sessions of one model share: the mapped weights and the container of their packed copies. */
export interface WeightSharing {
  readonly container: number;
  readonly weights: SharedWeights;
}

/** One input of the model's own, at full length, and how many of its positions the text fills. */
export interface SequenceProbe {
  readonly tokens: number;
  readonly feeds: Record<string, Feed>;
}

/** A kept shorter session: its length and native handle. */
export interface SequenceVariant {
  readonly length: number;
  readonly session: number;
}

/** Maps `graphPath`'s external weights for sharing; null for a model that keeps them inside. */
export function openWeightSharing(graphPath: string): WeightSharing | null {
  const weights = mapSharedWeights(graphPath, readFileSync(graphPath));
  if (!weights) return null;
  return { container: createPrepackedWeights(), weights };
}

/** Lets go of the pages that creating sessions read (their packed copies hold the values now). */
export function settleWeightSharing(sharing: WeightSharing): void {
  dropResidentPages(sharing.weights);
}

/** Frees what `openWeightSharing` made; every session using it must have been released. */
export function releaseWeightSharing(sharing: WeightSharing): void {
  releasePrepackedWeights(sharing.container);
  releaseSharedWeights(sharing.weights);
}

/** `feeds` cut to their first `length` positions along the sequence axis (the last; batch 1). */
export function truncateFeeds(feeds: Record<string, Feed>, length: number): Record<string, Feed> {
  return Object.fromEntries(
    Object.entries(feeds).map(([name, feed]) => [
      name,
      { type: feed.type, data: feed.data.slice(0, length) as Feed["data"], dims: [...feed.dims.slice(0, -1), length] },
    ]),
  );
}

function largestDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(largest) ? Infinity : largest;
}

/**
 * Creates and checks the shorter sessions of `full` (the session of `graphPath`, exported for
 * `context` tokens and created with `sharing`), shortest first; returns those kept, none for a
 * tower that cannot be shortened (which keeps its full-length session only).
 */
export function createSequenceVariants(
  graphPath: string,
  full: { readonly handle: number; readonly outputNames: readonly string[] },
  context: number,
  settings: SessionSettings,
  sharing: WeightSharing,
  lengths: readonly number[],
  probes: readonly SequenceProbe[],
): SequenceVariant[] {
  const kept: SequenceVariant[] = [];
  const { size, mtimeMs } = statSync(graphPath);
  const file = `${graphPath}|${size}|${mtimeMs}`;
  if (unshortenable.has(file)) return kept;
  const started = performance.now();
  const graph = readFileSync(graphPath);
  const options = { ...settings, prepackedWeights: sharing.container, sharedInitializers: sharing.weights.initializers };
  const references = new Map<SequenceProbe, Float32Array>();
  const reference = (probe: SequenceProbe) => {
    let output = references.get(probe);
    if (!output) references.set(probe, (output = runNativeSession(full.handle, full.outputNames, probe.feeds)[0]!.data));
    return output;
  };
  let worst = 0;
  for (const length of [...lengths].sort((a, b) => a - b)) {
    if (length >= context) break;
    const fitting = probes.filter((probe) => probe.tokens <= length);
    if (fitting.length === 0) break;
    let variant: NativeSession | undefined;
    try {
      variant = createNativeSession({ graph: shortenSequence(graph, context, length), folder: dirname(graphPath) }, options);
      for (const probe of fitting) {
        const output = runNativeSession(variant.handle, variant.outputNames, truncateFeeds(probe.feeds, length))[0]!.data;
        const difference = largestDifference(output, reference(probe));
        if (!(difference <= TOLERANCE)) throw new Error(`a ${probe.tokens}-token probe's embedding differs by ${difference}`);
        worst = Math.max(worst, difference);
      }
      kept.push({ length, session: variant.handle });
    } catch (error) {
      if (variant) releaseNativeSession(variant.handle);
      if (kept.length === 0) unshortenable.add(file);
      // onnxruntime's messages run to several lines of source locations: the first part says it.
      log.info(`${graphPath}: runs at its full ${context} tokens only; at ${length}: ${String(error).slice(0, 200)}`);
      break;
    }
  }
  settleWeightSharing(sharing);
  if (kept.length > 0) {
    log.info(
      `${graphPath}: shorter sessions for texts of up to ${kept.map((v) => v.length).join(", ")} of its ${context} tokens ` +
        `(${worst === 0 ? "identical embeddings" : `embeddings within ${worst.toExponential(1)}`}; ready in ${(performance.now() - started).toFixed(0)} ms)`,
    );
  }
  return kept;
}
