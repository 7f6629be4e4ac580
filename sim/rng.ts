/**
 * The one seeded generator of a run. Every random choice in the model draws from it,
 * so the same seed gives the same trace. It is pure-rand's xoroshiro128+, the family
 * fast-check itself uses.
 */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';

type Generator = ReturnType<typeof xoroshiro128plus>;

export class Rng {
  private readonly gen: Generator;

  constructor(readonly seed: number) {
    this.gen = xoroshiro128plus(seed | 0);
  }

  /** A uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return uniformInt(this.gen, min, max);
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.int(0, 0x3fffffff) / 0x40000000;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }
}
