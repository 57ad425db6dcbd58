import { randomInt } from 'node:crypto';
import { mulberry32 } from './seededRandom';

/** A small seeded PRNG, so that a failing run's choices can be replayed with CRASH_SEED. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
}

/**
 * A generator for one stream of choices (a round, or one worker of a round).
 * Each stream has its own state, so the order in which concurrent workers
 * happen to draw cannot change what any one of them draws.
 */
export function rngFor(seed: number, ...stream: number[]): Rng {
  let mixed = seed >>> 0;
  for (const part of stream) mixed = Math.imul(mixed ^ (part + 0x9e3779b9), 0x85ebca6b) >>> 0;
  const next = mulberry32(mixed);
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
  };
}

/** CRASH_SEED if set (a whole number), else a fresh random seed. */
export function seedFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.CRASH_SEED;
  if (raw === undefined || raw.trim() === '') return randomInt(1, 2 ** 31);
  if (!/^\d+$/.test(raw.trim())) throw new Error(`CRASH_SEED must be a whole number; got '${raw}'.`);
  return Number(raw.trim()) >>> 0;
}

/** CRASH_ROUNDS if set (a whole number ≥ 1), else the default. */
export function roundsFromEnv(env: NodeJS.ProcessEnv, fallback: number): number {
  const raw = env.CRASH_ROUNDS;
  if (raw === undefined || raw.trim() === '') return fallback;
  const rounds = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || rounds < 1) throw new Error(`CRASH_ROUNDS must be a whole number ≥ 1; got '${raw}'.`);
  return rounds;
}
