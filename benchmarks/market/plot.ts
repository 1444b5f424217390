/**
 * The market plot: award latency (left) and single-task latency with the
 * market on and off, with their difference, the market overhead (right),
 * against the executors bidding; dashed, the same with a DHT record put for
 * every task (`announceInDht: 'always'`; by default only waiting tasks are put). p50/p90 only: the p99s at 16 executors (about 1 s) would
 * flatten the rest (they are in the JSON). Built from ../network/plot.ts's
 * line chart.
 */
import { lineChart } from '../network/plot.js'
import type { CountMetrics } from './awards.js'

/** Two charts side by side in one SVG document. */
export function marketSvg (byCount: CountMetrics[], always: CountMetrics[], overheadTargetMs: number): string {
  const award = lineChart({
    title: 'Ready → award (loopback devnet)',
    xLabel: 'executors bidding',
    yLabel: 'ms',
    series: [
      { name: 'award p50', points: byCount.map(m => [m.executors, m.awardMs.p50]) },
      { name: 'award p90', points: byCount.map(m => [m.executors, m.awardMs.p90]), dashed: true },
      { name: 'bid round p50', points: byCount.map(m => [m.executors, m.roundMs.p50]) },
      { name: 'award p50, DHT put per task', points: always.map(m => [m.executors, m.awardMs.p50]), dashed: true }
    ]
  })
  const overhead = lineChart({
    title: 'Single tiny task, market on vs off',
    xLabel: 'executors',
    yLabel: 'ms',
    series: [
      { name: 'market on p50', points: byCount.map(m => [m.executors, m.marketLatencyMs.p50]) },
      { name: 'market off p50', points: byCount.map(m => [m.executors, m.directLatencyMs.p50]) },
      { name: 'overhead p50', points: byCount.map(m => [m.executors, m.overheadMs.p50]) },
      { name: 'overhead p50, DHT put per task', points: always.map(m => [m.executors, m.overheadMs.p50]), dashed: true }
    ],
    references: [{ label: `target overhead p50 ≤ ${overheadTargetMs} (4 executors)`, y: overheadTargetMs, color: '#2ca02c' }]
  })
  const inner = (svg: string): string => svg.replace(/^<svg[^>]*>\n?/, '').replace(/<\/svg>\n?$/, '')
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" width="1120" height="340" viewBox="0 0 1120 340" font-family="sans-serif" font-size="12">',
    `<g>${inner(award)}</g>`,
    `<g transform="translate(560 0)">${inner(overhead)}</g>`,
    '</svg>'
  ].join('\n') + '\n'
}
