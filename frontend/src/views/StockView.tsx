import { useState } from "react";
import type { NewsItem, PricePoint, StockDetail } from "../api/types";
import type { Candle } from "../components/ChartExtras";
import { type ChartMarker, type ChartSeries, LineChart } from "../components/LineChart";
import { StatusBlock } from "../components/StatusBlock";
import { useLive } from "../live/useLive";
import { colorFor } from "../lib/colors";
import { int, money, shortTime, stamp } from "../lib/format";
import { STATIC_INTERVAL_MS } from "../lib/intervals";
import { hrefFor, navigate } from "../lib/route";

const SYMBOL_RE = /^(SH|SZ)\d{6}$/;

/** A candle for every point with open, high, low and close. */
export function candlesOf(prices: PricePoint[]): Candle[] {
  return prices.flatMap((p, index) =>
    p.open != null && p.high != null && p.low != null && p.price !== null
      ? [{ index, open: p.open, high: p.high, low: p.low, close: p.price }]
      : [],
  );
}

/**
 * Candles where the bars have open/high/low, else a close line (plus Bollinger bands when
 * present), volume bars when known, and one marker per agent trade.
 */
export function stockChart(d: StockDetail): {
  categories: string[];
  series: ChartSeries[];
  markers: ChartMarker[];
  candles: Candle[];
  volume: (number | null)[] | undefined;
} {
  const categories = d.prices.map((p) => p.time);
  const candles = candlesOf(d.prices);
  const withCandle = new Set(candles.map((c) => c.index));
  const closes = d.prices.map((p, i) => (withCandle.has(i) ? null : p.price));
  const series: ChartSeries[] = [];
  if (closes.some((v) => v !== null)) {
    series.push({ key: "price", label: d.symbol, color: "#e6edf3", values: closes });
  }
  const volume = d.prices.some((p) => p.volume != null)
    ? d.prices.map((p) => p.volume ?? null)
    : undefined;
  const upper = d.prices.map((p) => p.indicators?.bb_upper ?? null);
  const lower = d.prices.map((p) => p.indicators?.bb_lower ?? null);
  if (upper.some((v) => v !== null)) {
    series.push({ key: "bb_upper", label: "BB upper", color: "#6e7681", dashed: true, values: upper });
    series.push({ key: "bb_lower", label: "BB lower", color: "#6e7681", dashed: true, values: lower });
  }
  const markers: ChartMarker[] = [];
  for (const t of d.trades) {
    // The window whose time matches the trade, else the last window at or before it.
    let index = categories.indexOf(t.time);
    if (index < 0) {
      index = -1;
      categories.forEach((c, i) => {
        if (c <= t.time) index = i;
      });
    }
    if (index < 0 || t.price === null) continue;
    const side = t.action.toUpperCase() === "SELL" ? "sell" : "buy";
    markers.push({
      index,
      value: t.price,
      kind: side,
      color: colorFor(t.signature),
      label: `${t.signature} ${t.action} ${int(t.amount)} @ ${money(t.price)}`,
    });
  }
  return { categories, series, markers, candles, volume };
}

function NewsList({ news }: { news: NewsItem[] }) {
  return (
    <ul className="news">
      {news.map((n) => (
        <li key={n.id} className="news-item" data-testid="news-item">
          <div className="news-head">
            <time>{stamp(n.publish_time)}</time>
            {n.source && <span className="muted"> · {n.source}</span>}
            {n.symbol && <span className="badge">{n.symbol}</span>}
          </div>
          <div className="news-title">
            {n.url ? (
              <a href={n.url} target="_blank" rel="noreferrer noopener">
                {n.title}
              </a>
            ) : (
              n.title
            )}
          </div>
          {n.content && <p className="news-content">{n.content}</p>}
        </li>
      ))}
    </ul>
  );
}

function StockPanels({ d }: { d: StockDetail }) {
  const { categories, series, markers, candles, volume } = stockChart(d);
  return (
    <>
      <section className="panel">
        <header className="panel-head">
          <h2>
            {d.symbol}
            {d.name && <span className="symbol-name"> {d.name}</span>} price per window
          </h2>
          <span className="meta">
            ▲ buy · ▼ sell, coloured by agent · {d.trades.length} trades
          </span>
        </header>
        {d.prices.length === 0 ? (
          <div className="state state-empty">No prices recorded for {d.symbol} yet.</div>
        ) : (
          <LineChart
            categories={categories}
            series={series}
            markers={markers}
            candles={candles}
            volume={volume}
            formatValue={(v) => money(v)}
            formatCategory={shortTime}
            ariaLabel={`${d.symbol} price per decision window with agent trades${candles.length > 0 ? " (candles)" : ""}${volume ? " and volume" : ""}`}
          />
        )}
      </section>
      <div className="two-col">
        <section className="panel">
          <header className="panel-head">
            <h2>Agent trades</h2>
          </header>
          {d.trades.length === 0 ? (
            <div className="state state-empty">No agent has traded {d.symbol}.</div>
          ) : (
            <div className="table-wrap">
              <table className="table compact" aria-label="Agent trades">
                <thead>
                  <tr>
                    <th>Time</th>
                    <th>Agent</th>
                    <th>Side</th>
                    <th className="num">Shares</th>
                    <th className="num">Price</th>
                  </tr>
                </thead>
                <tbody>
                  {[...d.trades].reverse().map((t, i) => (
                    <tr key={i}>
                      <td>{stamp(t.time)}</td>
                      <td>
                        <a
                          className="agent-name"
                          href={hrefFor({ view: "agent", signature: t.signature })}
                        >
                          <span className="swatch" style={{ background: colorFor(t.signature) }} />
                          {t.signature}
                        </a>
                      </td>
                      <td className={t.action.toUpperCase() === "SELL" ? "sell" : "buy"}>
                        {t.action}
                      </td>
                      <td className="num">{int(t.amount)}</td>
                      <td className="num">{money(t.price)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        <section className="panel">
          <header className="panel-head">
            <h2>News</h2>
          </header>
          {d.news.length === 0 ? (
            <div className="state state-empty">No news for {d.symbol}.</div>
          ) : (
            <NewsList news={d.news} />
          )}
        </section>
      </div>
    </>
  );
}

export function StockView({ symbol }: { symbol: string | null }) {
  const [draft, setDraft] = useState(symbol ?? "");
  // Every symbol that appears in the data root's snapshots.
  const symbols = useLive("symbols", (live, signal) => live.symbols(signal), {
    intervalMs: STATIC_INTERVAL_MS,
  });
  const known = symbols.data?.data ?? [];
  const chosen = symbol ?? known[0] ?? null;
  const detail = useLive(chosen ? `stock-${chosen}` : null, (live, signal) =>
    live.stockDetail(chosen ?? "", signal),
  );
  const valid = SYMBOL_RE.test(draft.trim().toUpperCase());

  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-head">
          <h2>Stock</h2>
          <form
            className="controls"
            onSubmit={(e) => {
              e.preventDefault();
              if (valid) navigate({ view: "stock", symbol: draft.trim().toUpperCase() });
            }}
          >
            <input
              aria-label="Symbol"
              placeholder="SH688008"
              list="known-symbols"
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              size={12}
            />
            <datalist id="known-symbols">
              {known.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
            <button type="submit" className="btn" disabled={!valid}>
              Show
            </button>
          </form>
        </header>
        {known.length > 0 && (
          <div className="chips">
            {known.map((s) => (
              <a
                key={s}
                className={`chip${s === chosen ? " active" : ""}`}
                href={hrefFor({ view: "stock", symbol: s })}
              >
                {s}
              </a>
            ))}
          </div>
        )}
        {!chosen && <div className="state state-empty">Enter a symbol such as SH688008.</div>}
      </section>
      {chosen && (
        <StatusBlock state={detail} what={`data for ${chosen}`}>
          {(d) => <StockPanels d={d} />}
        </StatusBlock>
      )}
    </div>
  );
}
