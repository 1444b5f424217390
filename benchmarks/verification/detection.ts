/**
 * Detection statistics: from a cheater's cheats in order (each caught or
 * not), the share of disjoint windows of k consecutive cheats with at least
 * one caught, against theory 1 − (1 − p)^k.
 *
 * The 95 % band around theory is q ± 1.96·√(q(1 − q)/n) for n windows: the
 * measured share lies in it exactly when the Wilson score interval of the
 * measured share contains q (the score test does not reject q). Because the
 * measured share is discrete and the band is an approximation, each point is
 * also tested against the exact central binomial 95 % region (the counts x
 * with P(X ≤ x) ≥ 2.5 % and P(X ≥ x) ≥ 2.5 % for X ~ Bin(n, q)).
 */

/** z of a two-sided 95 % band. */
export const Z95 = 1.959963984540054

/** One window size. */
export interface DetectionPoint {
  k: number
  /** Disjoint windows of k consecutive cheats. */
  windows: number
  /** Windows with at least one cheat caught. */
  caught: number
  measured: number
  theory: number
  /** The normal (score) band around theory. */
  band: [number, number]
  inside: boolean
  /** The exact binomial 95 % region (as shares). */
  exact: [number, number]
  insideExact: boolean
}

/** Windows of k consecutive cheats, for several cheat sequences (their windows pooled; none spans two sequences). */
export function windowCounts (sequences: boolean[][], k: number): { windows: number, caught: number } {
  let windows = 0
  let caught = 0
  for (const sequence of sequences) {
    for (let start = 0; start + k <= sequence.length; start += k) {
      windows++
      if (sequence.slice(start, start + k).some(Boolean)) caught++
    }
  }
  return { windows, caught }
}

function _logChoose (n: number, x: number): number {
  let sum = 0
  for (let i = 1; i <= x; i++) sum += Math.log((n - x + i) / i)
  return sum
}

/** P(X = x) for X ~ Bin(n, q), for every x. */
function _pmf (n: number, q: number): number[] {
  if (q <= 0) return Array.from({ length: n + 1 }, (_, x) => x === 0 ? 1 : 0)
  if (q >= 1) return Array.from({ length: n + 1 }, (_, x) => x === n ? 1 : 0)
  return Array.from({ length: n + 1 }, (_, x) => Math.exp(_logChoose(n, x) + x * Math.log(q) + (n - x) * Math.log1p(-q)))
}

/** The central 95 % region of Bin(n, q), as counts [lo, hi]. */
export function exactRegion (n: number, q: number): [number, number] {
  const pmf = _pmf(n, q)
  let lo = 0
  for (let below = 0; lo <= n; lo++) {
    // P(X < lo) = below; lo is the first count with P(X ≤ lo) ≥ 2.5 %.
    if (below + (pmf[lo] ?? 0) >= 0.025) break
    below += pmf[lo] ?? 0
  }
  let hi = n
  for (let above = 0; hi >= 0; hi--) {
    if (above + (pmf[hi] ?? 0) >= 0.025) break
    above += pmf[hi] ?? 0
  }
  return [lo, hi]
}

/** The detection curve for k = 1..maxK (window sizes with no window are left out). */
export function detectionCurve (sequences: boolean[][], p: number, maxK: number): DetectionPoint[] {
  const out: DetectionPoint[] = []
  for (let k = 1; k <= maxK; k++) {
    const { windows, caught } = windowCounts(sequences, k)
    if (windows === 0) continue
    const theory = 1 - (1 - p) ** k
    const half = Z95 * Math.sqrt(theory * (1 - theory) / windows)
    const measured = caught / windows
    const band: [number, number] = [Math.max(0, theory - half), Math.min(1, theory + half)]
    const [lo, hi] = exactRegion(windows, theory)
    out.push({
      k,
      windows,
      caught,
      measured,
      theory,
      band,
      // A tiny tolerance: at q ≈ 1 the band is a point and 1.0 must count as in it.
      inside: measured >= band[0] - 1e-12 && measured <= band[1] + 1e-12,
      exact: [lo / windows, hi / windows],
      insideExact: caught >= lo && caught <= hi
    })
  }
  return out
}
