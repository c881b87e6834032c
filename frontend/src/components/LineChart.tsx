import { useLayoutEffect, useMemo, useRef, useState } from "react";
import { compact } from "../lib/format";
import { type Candle, Candles, VOLUME_PANE_HEIGHT, VolumePane } from "./ChartExtras";

export interface ChartSeries {
  key: string;
  label: string;
  color: string;
  dashed?: boolean;
  /** One value per category (null = no point there). */
  values: (number | null)[];
}

export interface ChartMarker {
  index: number;
  value: number;
  kind: "buy" | "sell";
  color: string;
  label: string;
}

interface Props {
  categories: string[];
  series: ChartSeries[];
  formatValue: (v: number) => string;
  formatCategory?: (c: string) => string;
  markers?: ChartMarker[];
  height?: number;
  /** Draw a reference line at this value (e.g. 0 % return). */
  baseline?: number;
  /** OHLC candles per category index (drawn under the series). */
  candles?: Candle[];
  /** Volume per category, drawn in a pane below the plot. */
  volume?: (number | null)[];
  ariaLabel: string;
}

const PAD = { top: 12, right: 44, bottom: 28, left: 72 };
const DEFAULT_WIDTH = 800;

/** "Nice" tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.01 || 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const start = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let k = 0; k < 100; k += 1) {
    const v = Number((start + k * step).toPrecision(12));
    ticks.push(v);
    if (v >= hi) break;
  }
  return ticks;
}

function useWidth(): [React.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement | null>(null);
  const [width, setWidth] = useState(DEFAULT_WIDTH);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === "undefined") return undefined;
    const observer = new ResizeObserver((entries) => {
      const w = entries[0]?.contentRect.width;
      if (w && w > 0) setWidth(Math.round(w));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

export function LineChart({
  categories,
  series,
  formatValue,
  formatCategory = (c) => c,
  markers = [],
  height = 320,
  baseline,
  candles = [],
  volume,
  ariaLabel,
}: Props) {
  const [wrapRef, width] = useWidth();
  const [hover, setHover] = useState<number | null>(null);
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());

  const visible = useMemo(() => series.filter((s) => !hidden.has(s.key)), [series, hidden]);
  const n = categories.length;
  const plotW = Math.max(50, width - PAD.left - PAD.right);
  const plotH = Math.max(50, height - PAD.top - PAD.bottom);

  const { ticks, yMin, yMax } = useMemo(() => {
    const all: number[] = [];
    for (const s of visible) for (const v of s.values) if (v !== null) all.push(v);
    for (const m of markers) all.push(m.value);
    for (const c of candles) all.push(c.high, c.low);
    if (baseline !== undefined && all.length) all.push(baseline);
    if (!all.length) return { ticks: [] as number[], yMin: 0, yMax: 1 };
    const t = niceTicks(Math.min(...all), Math.max(...all));
    return { ticks: t, yMin: t[0] ?? 0, yMax: t[t.length - 1] ?? 1 };
  }, [visible, markers, baseline, candles]);

  const x = (i: number) => PAD.left + (n <= 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  const y = (v: number) => PAD.top + plotH - ((v - yMin) / (yMax - yMin || 1)) * plotH;
  const step = n <= 1 ? plotW : plotW / (n - 1);
  const hasVolume = volume !== undefined && volume.some((v) => v !== null);

  const paths = visible.map((s) => {
    let d = "";
    let penDown = false;
    s.values.forEach((v, i) => {
      if (v === null) {
        penDown = false;
        return;
      }
      d += `${penDown ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      penDown = true;
    });
    return { s, d };
  });

  const xTickEvery = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(plotW / 110))));
  const xTicks = categories.map((c, i) => ({ c, i })).filter(({ i }) => i % xTickEvery === 0);

  function onMove(e: React.MouseEvent<SVGSVGElement>) {
    if (n === 0) return;
    const rect = e.currentTarget.getBoundingClientRect();
    const px = e.clientX - rect.left - PAD.left;
    const i = n <= 1 ? 0 : Math.round((px / plotW) * (n - 1));
    setHover(Math.min(n - 1, Math.max(0, i)));
  }

  const toggle = (key: string) =>
    setHidden((prev) => {
      const next = new Set(prev);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const hoverRows =
    hover === null
      ? []
      : visible
          .map((s) => ({ s, v: s.values[hover] ?? null }))
          .filter((r): r is { s: ChartSeries; v: number } => r.v !== null)
          .sort((a, b) => b.v - a.v);
  const hoverMarkers = hover === null ? [] : markers.filter((m) => m.index === hover);
  const hoverCandle = hover === null ? undefined : candles.find((c) => c.index === hover);
  const tipLeft = hover === null ? 0 : x(hover) + 12;
  const tipOnLeft = tipLeft > width - 240;

  return (
    <div className="chart" ref={wrapRef}>
      <ul className="legend" aria-label="Series">
        {series.map((s) => {
          const last = [...s.values].reverse().find((v) => v !== null) ?? null;
          const off = hidden.has(s.key);
          return (
            <li key={s.key}>
              <button
                type="button"
                className={`legend-item${off ? " off" : ""}`}
                onClick={() => toggle(s.key)}
                aria-pressed={!off}
                title={off ? "Show" : "Hide"}
              >
                <span
                  className={`swatch${s.dashed ? " dashed" : ""}`}
                  style={{ background: s.dashed ? undefined : s.color, borderColor: s.color }}
                />
                <span className="legend-label">{s.label}</span>
                <span className="legend-value num">{last === null ? "—" : formatValue(last)}</span>
              </button>
            </li>
          );
        })}
      </ul>
      <div className="chart-area">
        <svg
          width={width}
          height={height + (hasVolume ? VOLUME_PANE_HEIGHT : 0)}
          role="img"
          aria-label={ariaLabel}
          onMouseMove={onMove}
          onMouseLeave={() => setHover(null)}
        >
          {ticks.map((t) => (
            <g key={t}>
              <line className="grid" x1={PAD.left} x2={PAD.left + plotW} y1={y(t)} y2={y(t)} />
              <text className="axis" x={PAD.left - 8} y={y(t) + 4} textAnchor="end">
                {formatValue(t)}
              </text>
            </g>
          ))}
          {baseline !== undefined && ticks.length > 0 && (
            <line
              className="baseline"
              x1={PAD.left}
              x2={PAD.left + plotW}
              y1={y(baseline)}
              y2={y(baseline)}
            />
          )}
          {xTicks.map(({ c, i }) => (
            <text
              key={c}
              className="axis"
              x={x(i)}
              y={PAD.top + plotH + 18}
              textAnchor="middle"
            >
              {formatCategory(c)}
            </text>
          ))}
          <Candles candles={candles} x={x} y={y} step={step} />
          {hasVolume && (
            <VolumePane
              volume={volume ?? []}
              x={x}
              top={height}
              height={VOLUME_PANE_HEIGHT - 8}
              step={step}
              left={PAD.left}
            />
          )}
          {paths.map(({ s, d }) => (
            <path
              key={s.key}
              data-series={s.key}
              d={d}
              fill="none"
              stroke={s.color}
              strokeWidth={s.dashed ? 1.5 : 2}
              strokeDasharray={s.dashed ? "6 4" : undefined}
              strokeLinejoin="round"
            />
          ))}
          {visible.map((s) => {
            const only = s.values.filter((v) => v !== null).length === 1;
            if (!only) return null;
            const i = s.values.findIndex((v) => v !== null);
            const v = s.values[i];
            return v === null || v === undefined ? null : (
              <circle key={`${s.key}-dot`} cx={x(i)} cy={y(v)} r={3} fill={s.color} />
            );
          })}
          {markers.map((m, k) => {
            // Several trades in one window stack away from the line instead of hiding each other.
            const stack = markers
              .slice(0, k)
              .filter((o) => o.index === m.index && o.kind === m.kind).length;
            const off = 5 + stack * 12;
            return (
            <path
              key={`${m.index}-${k}`}
              className={`marker marker-${m.kind}`}
              data-kind={m.kind}
              d={
                m.kind === "buy"
                  ? `M${x(m.index)},${y(m.value) + off} l-7,11 h14 z`
                  : `M${x(m.index)},${y(m.value) - off} l-7,-11 h14 z`
              }
              fill={m.color}
              stroke="#0d1117"
              strokeWidth={1}
            >
              <title>{m.label}</title>
            </path>
            );
          })}
          {hover !== null && (
            <line
              className="crosshair"
              x1={x(hover)}
              x2={x(hover)}
              y1={PAD.top}
              y2={PAD.top + plotH}
            />
          )}
          {hover !== null &&
            hoverRows.map(({ s, v }) => (
              <circle key={`h-${s.key}`} cx={x(hover)} cy={y(v)} r={3.5} fill={s.color} />
            ))}
        </svg>
        {hover !== null && (hoverRows.length > 0 || hoverMarkers.length > 0 || hoverCandle) && (
          <div
            className="tooltip"
            role="tooltip"
            style={
              tipOnLeft
                ? { right: width - x(hover) + 12, top: PAD.top }
                : { left: tipLeft, top: PAD.top }
            }
          >
            <div className="tooltip-title">{categories[hover]}</div>
            {hoverCandle && (
              <div className="tooltip-row">
                O {formatValue(hoverCandle.open)} H {formatValue(hoverCandle.high)} L{" "}
                {formatValue(hoverCandle.low)} C {formatValue(hoverCandle.close)}
              </div>
            )}
            {hasVolume && volume?.[hover] != null && (
              <div className="tooltip-row">Volume {compact(volume[hover] ?? 0)}</div>
            )}
            {hoverRows.map(({ s, v }) => (
              <div key={s.key} className="tooltip-row">
                <span className="swatch" style={{ background: s.color, borderColor: s.color }} />
                <span className="tooltip-label">{s.label}</span>
                <span className="num">{formatValue(v)}</span>
              </div>
            ))}
            {hoverMarkers.map((m, k) => (
              <div key={`m-${k}`} className={`tooltip-row tooltip-${m.kind}`}>
                {m.label}
              </div>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}
