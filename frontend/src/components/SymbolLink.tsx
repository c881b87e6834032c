import { hrefFor } from "../lib/route";

/** A stock code linking to its Stock view, with its name when the API knows it. */
export function SymbolLink({ symbol, name }: { symbol: string; name?: string | null }) {
  return (
    <a className="symbol" href={hrefFor({ view: "stock", symbol })}>
      {symbol}
      {name ? <span className="symbol-name"> {name}</span> : null}
    </a>
  );
}
