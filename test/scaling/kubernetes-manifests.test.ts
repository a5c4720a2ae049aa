/**
 * deploy/kubernetes against the Kubernetes OpenAPI schema (kubernetes-models: the API's own schema
 * compiled to validators, offline) and KEDA's CRD schema, then what the schema cannot know: the
 * probes hit the right endpoints, the variables are ones immich-ml reads, the pieces refer to each
 * other and the autoscaling query names series we export.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Service } from "kubernetes-models/v1/Service";
import { Probe } from "kubernetes-models/v1/Probe";
import { ResourceRequirements } from "kubernetes-models/v1/ResourceRequirements";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { loadSettings } from "../../src/config/settings.ts";
import { Metrics } from "../../src/http/metrics.ts";
import { repoRoot } from "../support/fixtures.ts";

const folder = join(repoRoot, "deploy/kubernetes");
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "v1/Service": Service,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
};

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, walked freely below; its shape is what the schema validation in these tests checks
type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec: any };
const manifests: Manifest[] = readdirSync(folder)
  .filter((name) => name.endsWith(".yaml"))
  .flatMap((name) => [Bun.YAML.parse(readFileSync(join(folder, name), "utf8"))].flat() as Manifest[]);
const byKind = (kind: string) => manifests.find((manifest) => manifest.kind === kind)!;
const deployment = byKind("Deployment");
const container = deployment.spec.template.spec.containers[0];
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, as above; its probes and resources are validated against the schemas below
const chartValues = (Bun.YAML.parse(readFileSync(join(folder, "immich-charts/values.yaml"), "utf8")) as { "machine-learning": any })["machine-learning"];

function validate(manifest: Manifest): void {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!Model) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind}`);
  new Model(manifest as never).validate();
}

describe("schema", () => {
  test("every manifest validates against its API schema: a Deployment, a Service and a KEDA ScaledObject", () => {
    expect(manifests.map((manifest) => manifest.kind).sort()).toEqual(["Deployment", "ScaledObject", "Service"]);
    for (const manifest of manifests) validate(manifest);
  });

  test("the validator does refuse broken manifests", () => {
    const broken = structuredClone(deployment);
    broken.spec.template.spec.containers[0].livenessProbe.periodSeconds = "often";
    expect(() => validate(broken)).toThrow("periodSeconds");
    const noQuery = structuredClone(byKind("ScaledObject"));
    noQuery.spec.triggers[0].metadata.threshold = 4;
    expect(() => validate(noQuery)).toThrow("threshold");
  });

  test("the immich-charts override holds a valid probe spec per probe and valid resources", () => {
    for (const probe of Object.values(chartValues.probes) as Array<{ spec: unknown }>) new Probe(probe.spec as never).validate();
    new ResourceRequirements(chartValues.resources).validate();
  });
});

describe("what the schema cannot check", () => {
  test("liveness is /ping within the chart's 1 s, readiness is /ready, startup allows a first download of 10+ minutes", () => {
    expect(container.livenessProbe.httpGet.path).toBe("/ping");
    expect(container.livenessProbe.timeoutSeconds).toBeLessThanOrEqual(1);
    expect(container.readinessProbe.httpGet.path).toBe("/ready");
    const startup = container.startupProbe;
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(600);
  });

  test("every variable set is one immich-ml reads, with the value it means", () => {
    const env = Object.fromEntries((container.env as Array<{ name: string; value: string }>).map(({ name, value }) => [name, value]));
    const defaults = loadSettings({});
    for (const [name, value] of Object.entries(env)) expect(loadSettings({ [name]: value })).not.toEqual(defaults);
    const settings = loadSettings(env);
    expect(settings.cacheFolder).toBe(container.volumeMounts[0].mountPath);
    expect(settings.preload.clip?.textual).toEqual(["ViT-B-32__openai"]);
    // Draining outlasts the readiness checks that notice it; the grace period outlasts draining.
    const readiness = container.readinessProbe;
    expect(settings.scaling.drainDelayS).toBeGreaterThan(readiness.periodSeconds * readiness.failureThreshold);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(settings.scaling.drainDelayS);
    for (const [name, value] of Object.entries(chartValues.env as Record<string, string>)) expect(env[name]).toBe(value);
  });

  test("the Service selects the pods and targets their named port; the ScaledObject scales this Deployment", () => {
    const service = byKind("Service");
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(service.spec.selector)) expect(podLabels[key]).toBe(value);
    expect(deployment.spec.selector.matchLabels).toEqual(service.spec.selector);
    expect(container.ports.map((port: { name: string }) => port.name)).toContain(service.spec.ports[0].targetPort);
    expect(byKind("ScaledObject").spec.scaleTargetRef.name).toBe(deployment.metadata.name);
  });

  test("the autoscaling query sums series immich-ml exports", () => {
    const query: string = byKind("ScaledObject").spec.triggers[0].metadata.query;
    const series = [...query.matchAll(/(immich_ml_\w+)/g)].map((match) => match[1]!);
    expect(series).toEqual(["immich_ml_requests_in_flight", "immich_ml_queue_depth"]);
    const { registry } = new Metrics();
    for (const name of series) expect(registry.getSingleMetric(name)).toBeDefined();
  });

  test("the immich-charts override uses the same probes and resources as the Deployment", () => {
    const { probes } = chartValues;
    for (const [kind, field] of [
      ["liveness", "livenessProbe"],
      ["readiness", "readinessProbe"],
      ["startup", "startupProbe"],
    ] as const) {
      expect(probes[kind].enabled && probes[kind].custom).toBe(true);
      expect({ ...probes[kind].spec, httpGet: { path: probes[kind].spec.httpGet.path } }).toEqual({
        ...container[field],
        httpGet: { path: container[field].httpGet.path },
      });
    }
    expect(chartValues.resources).toEqual(container.resources);
  });
});
