/** A seeded pseudo-random source (mulberry32), so a fuzz run can be replayed case by case. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }

  /** A printable-or-not string: ASCII, control characters, quotes, multi-byte and astral code points. */
  text(maxLength: number): string {
    const alphabet = ["a", "Z", "9", " ", "-", "_", ":", "/", ".", "\\", '"', "'", "{", "}", "[", "]", "\u0000", "\n", "\r", "é", "猫", "🐱", "\u202e"];
    let out = "";
    for (let i = this.int(0, maxLength); i > 0; i--) out += this.pick(alphabet);
    return out;
  }
}
