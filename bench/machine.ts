/** What the numbers were measured on. */
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, release, totalmem } from "node:os";

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  bun: string;
  onnxruntime: string;
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync("/etc/os-release", "utf8"));
    return `${pretty?.[1] ?? process.platform}, kernel ${release()}`;
  } catch {
    return `${process.platform} ${release()}`;
  }
}

export async function machineInfo(): Promise<MachineInfo> {
  const ort = (await import("onnxruntime-node/package.json", { with: { type: "json" } })).default as { version: string };
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: osName(),
    bun: Bun.version,
    onnxruntime: ort.version,
  };
}
