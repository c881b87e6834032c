// Candles and volume bars drawn inside LineChart's coordinate system.
import { compact } from "../lib/format";

export interface Candle {
  index: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

export const VOLUME_PANE_HEIGHT = 72;

type Scale = (v: number) => number;

export function Candles({ candles, x, y, step }: { candles: Candle[]; x: Scale; y: Scale; step: number }) {
  const w = Math.max(2, Math.min(14, step * 0.6));
  return (
    <g className="candles">
      {candles.map((c) => {
        const up = c.close >= c.open;
        const top = y(Math.max(c.open, c.close));
        const bottom = y(Math.min(c.open, c.close));
        return (
          <g key={c.index} className={up ? "candle candle-up" : "candle candle-down"} data-candle={c.index}>
            <line x1={x(c.index)} x2={x(c.index)} y1={y(c.high)} y2={y(c.low)} />
            <rect x={x(c.index) - w / 2} y={top} width={w} height={Math.max(1, bottom - top)} />
          </g>
        );
      })}
    </g>
  );
}

/** Volume bars in a pane `top`..`top + height`, scaled to the largest volume shown. */
export function VolumePane({
  volume,
  x,
  top,
  height,
  step,
  left,
}: {
  volume: (number | null)[];
  x: Scale;
  top: number;
  height: number;
  step: number;
  left: number;
}) {
  const max = Math.max(0, ...volume.filter((v): v is number => v !== null));
  const w = Math.max(1, Math.min(14, step * 0.6));
  return (
    <g className="volume" aria-label="Volume">
      <text className="axis" x={left - 8} y={top + 10} textAnchor="end">
        {compact(max)}
      </text>
      {volume.map((v, i) => {
        if (v === null || max <= 0) return null;
        const h = (v / max) * height;
        return <rect key={i} data-volume={i} x={x(i) - w / 2} y={top + height - h} width={w} height={h} />;
      })}
    </g>
  );
}
