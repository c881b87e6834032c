import { useState } from "react";
import type { BenchmarkStat, ModelStat, ModelStatsResponse } from "../api/types";
import { colorFor } from "../lib/colors";
import { stamp } from "../lib/format";
import { hrefFor } from "../lib/route";
import { type CellSpec, COLUMNS, type Column } from "./leaderboardColumns";

type Row = { kind: "agent"; stat: ModelStat } | { kind: "benchmark"; stat: BenchmarkStat };

const BENCHMARK_NAME = "benchmark-equal-weight";

export interface SortOrder {
  /** A column key, "agent" (by name) or "last_action". */
  key: string;
  dir: "asc" | "desc";
}

export const DEFAULT_SORT: SortOrder = { key: "total_return_pct", dir: "desc" };

const rowName = (r: Row) => (r.kind === "agent" ? r.stat.signature : (r.stat.signature ?? BENCHMARK_NAME));

function sortValue(row: Row, key: string): number | string | null {
  if (key === "agent") return rowName(row);
  if (key === "last_action") return row.kind === "agent" ? row.stat.last_action : null;
  const col = COLUMNS.find((c) => c.key === key);
  if (!col) return null;
  const spec = row.kind === "agent" ? col.agent(row.stat) : col.bench?.(row.stat);
  return spec?.value ?? null;
}

/** Rows in `order`: missing values last either way; ties keep agents first, then by name. */
export function sortRows(resp: ModelStatsResponse, order: SortOrder = DEFAULT_SORT): Row[] {
  const rows: Row[] = resp.data.map((stat) => ({ kind: "agent", stat }));
  if (resp.benchmark) rows.push({ kind: "benchmark", stat: resp.benchmark });
  const sign = order.dir === "asc" ? 1 : -1;
  return rows.sort((a, b) => {
    const va = sortValue(a, order.key);
    const vb = sortValue(b, order.key);
    if (va !== vb) {
      if (va === null) return 1;
      if (vb === null) return -1;
      const d = typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb));
      if (d !== 0) return sign * d;
    }
    if (a.kind !== b.kind) return a.kind === "agent" ? -1 : 1;
    return rowName(a).localeCompare(rowName(b));
  });
}

/** Agents by total return, best first (agents without a return yet go last), benchmark in place. */
export function rankRows(resp: ModelStatsResponse): Row[] {
  return sortRows(resp, DEFAULT_SORT);
}

function Cell({ col, spec }: { col: string; spec: CellSpec }) {
  const { value, text, className = "", title } = spec;
  return (
    <td
      className={`num ${className}`.trim()}
      data-col={col}
      data-value={value === null || value === undefined ? "" : String(value)}
      title={title}
    >
      {text}
    </td>
  );
}

function SortHeader({
  sortKey,
  label,
  title,
  numeric,
  order,
  onSort,
}: {
  sortKey: string;
  label: string;
  title?: string;
  numeric: boolean;
  order: SortOrder;
  onSort: (key: string, numeric: boolean) => void;
}) {
  const active = order.key === sortKey;
  return (
    <th
      className={numeric ? "num" : undefined}
      title={title}
      aria-sort={active ? (order.dir === "asc" ? "ascending" : "descending") : undefined}
    >
      <button type="button" className="sort" onClick={() => onSort(sortKey, numeric)}>
        {label}
        <span className="sort-mark">{active ? (order.dir === "asc" ? " ▲" : " ▼") : ""}</span>
      </button>
    </th>
  );
}

function BenchmarkRow({ b }: { b: BenchmarkStat }) {
  const name = b.signature ?? BENCHMARK_NAME;
  return (
    <tr className="row-benchmark" data-testid="lb-row-benchmark">
      <td className="num muted">—</td>
      <td>
        <span className="agent-name">
          <span className="swatch dashed" style={{ borderColor: colorFor(name) }} />
          {name}
        </span>
        <span className="sub">benchmark · equal weight, buy and hold</span>
      </td>
      {COLUMNS.map((c: Column) =>
        c.bench ? <Cell key={c.key} col={c.key} spec={c.bench(b)} /> : <td key={c.key} className="muted" />,
      )}
      <td className="muted">{stamp(b.last_update)}</td>
    </tr>
  );
}

function AgentRow({ s, rank }: { s: ModelStat; rank: number | undefined }) {
  return (
    <tr data-testid={`lb-row-${s.signature}`}>
      <td className="num rank">{rank}</td>
      <td>
        <a className="agent-name" href={hrefFor({ view: "agent", signature: s.signature })}>
          <span className="swatch" style={{ background: colorFor(s.signature) }} />
          {s.signature}
        </a>
        <span className="sub">
          {s.provider} · {s.model}
        </span>
      </td>
      {COLUMNS.map((c) => (
        <Cell key={c.key} col={c.key} spec={c.agent(s)} />
      ))}
      <td className="last-action" title={stamp(s.last_update)}>
        {s.last_action ?? "—"}
      </td>
    </tr>
  );
}

/** The agents and the benchmark; any column header sorts (again: reverses). */
export function Leaderboard({ stats }: { stats: ModelStatsResponse }) {
  const [order, setOrder] = useState<SortOrder>(DEFAULT_SORT);
  const onSort = (key: string, numeric: boolean) =>
    setOrder((o) =>
      o.key === key ? { key, dir: o.dir === "asc" ? "desc" : "asc" } : { key, dir: numeric ? "desc" : "asc" },
    );
  const agentRanks = new Map(
    rankRows(stats)
      .flatMap((r) => (r.kind === "agent" ? [r.stat.signature] : []))
      .map((sig, i) => [sig, i + 1]),
  );
  const head = { order, onSort };
  return (
    <div className="table-wrap">
      <table className="table leaderboard" aria-label="Leaderboard">
        <thead>
          <tr>
            <th className="num" title="Rank by return">
              #
            </th>
            <SortHeader sortKey="agent" label="Agent" numeric={false} {...head} />
            {COLUMNS.map((c) => (
              <SortHeader key={c.key} sortKey={c.key} label={c.label} title={c.title} numeric {...head} />
            ))}
            <SortHeader sortKey="last_action" label="Last action" numeric={false} {...head} />
          </tr>
        </thead>
        <tbody>
          {sortRows(stats, order).map((row) =>
            row.kind === "benchmark" ? (
              <BenchmarkRow key="benchmark" b={row.stat} />
            ) : (
              <AgentRow key={row.stat.signature} s={row.stat} rank={agentRanks.get(row.stat.signature)} />
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}
