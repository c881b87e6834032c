import type { FanPeriod } from "../../api/experimentTypes";
import { BENCHMARK_COLOR, colorFor } from "../../lib/colors";
import { shortTime } from "../../lib/format";
import { niceTicks } from "../LineChart";

const W = 800;
const H = 300;
const PAD = { top: 12, right: 16, bottom: 26, left: 52 };

type Values = (number | null)[];

function pathOf(values: Values, x: (i: number) => number, y: (v: number) => number): string {
  let d = "";
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    d += `${pen ? "L" : "M"}${x(i).toFixed(1)} ${y(v).toFixed(1)} `;
    pen = true;
  });
  return d.trim();
}

/** Band low..high as a closed polygon (windows where both ends exist). */
function bandOf(low: Values, high: Values, x: (i: number) => number, y: (v: number) => number): string {
  const idx = low.flatMap((v, i) => (v !== null && high[i] !== null && high[i] !== undefined ? [i] : []));
  if (idx.length === 0) return "";
  const top = idx.map((i) => `${x(i).toFixed(1)} ${y(high[i] as number).toFixed(1)}`);
  const bottom = [...idx].reverse().map((i) => `${x(i).toFixed(1)} ${y(low[i] as number).toFixed(1)}`);
  return `M${top.join(" L")} L${bottom.join(" L")} Z`;
}

/** Median return % per window of each model with its band across repeats, and the benchmark. */
export function FanChart({ period, fan, level }: { period: string; fan: FanPeriod; level: number }) {
  const models = Object.entries(fan.models);
  const all = [...fan.benchmark, ...models.flatMap(([, b]) => [...b.low, ...b.high, ...b.median])].filter(
    (v): v is number => v !== null,
  );
  const ticks = niceTicks(Math.min(0, ...all), Math.max(0, ...all));
  const lo = ticks[0] ?? 0;
  const hi = ticks[ticks.length - 1] ?? 1;
  const n = Math.max(1, fan.times.length - 1);
  const x = (i: number) => PAD.left + (i / n) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + ((hi - v) / (hi - lo || 1)) * (H - PAD.top - PAD.bottom);
  const labels = [0, Math.floor(n / 2), n].filter((v, i, a) => a.indexOf(v) === i);
  return (
    <figure className="fan">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`Return % per window, ${period}: median and ${Math.round(level * 100)} % band per model`}
        className="fan-svg"
      >
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} className="grid" />
            <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" className="axis">
              {t.toFixed(1)}%
            </text>
          </g>
        ))}
        {labels.map((i) => (
          <text
            key={i}
            x={x(i)}
            y={H - 6}
            textAnchor={i === 0 ? "start" : i === n ? "end" : "middle"}
            className="axis"
          >
            {shortTime(fan.times[i])}
          </text>
        ))}
        {models.map(([sig, b]) => (
          <path key={`band-${sig}`} d={bandOf(b.low, b.high, x, y)} fill={colorFor(sig)} opacity={0.15} data-band={sig} />
        ))}
        {models.map(([sig, b]) => (
          <path key={sig} d={pathOf(b.median, x, y)} stroke={colorFor(sig)} fill="none" strokeWidth={2} data-series={sig} />
        ))}
        <path
          d={pathOf(fan.benchmark, x, y)}
          stroke={BENCHMARK_COLOR}
          strokeDasharray="5 4"
          fill="none"
          data-series="benchmark"
        />
      </svg>
      <figcaption className="legend">
        {models.map(([sig]) => (
          <span key={sig} className="legend-item">
            <span className="swatch" style={{ background: colorFor(sig) }} />
            {sig}
          </span>
        ))}
        <span className="legend-item">
          <span className="swatch dashed" style={{ borderColor: BENCHMARK_COLOR }} />
          benchmark
        </span>
      </figcaption>
    </figure>
  );
}
