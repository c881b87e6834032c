import type { Pairwise } from "../../api/experimentTypes";
import { fixed } from "../../lib/format";

/** P(row beats column) for every pair; the mean return difference and its interval on hover. */
export function PairwiseMatrix({ pairwise }: { pairwise: Pairwise }) {
  const sigs = pairwise.signatures;
  return (
    <div className="table-wrap">
      <table className="table compact pairwise" aria-label="Pairwise comparison">
        <thead>
          <tr>
            <th>P(row beats column)</th>
            {sigs.map((s) => (
              <th key={s} className="num">
                {s}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sigs.map((a, i) => (
            <tr key={a}>
              <th scope="row">{a}</th>
              {sigs.map((b, j) => {
                const p = pairwise.p_beats[i]?.[j] ?? null;
                const diff = pairwise.mean_diff_pct[i]?.[j] ?? null;
                const title = diff
                  ? `${a} − ${b}: ${fixed(diff.estimate)}%` +
                    (diff.ci ? ` [${fixed(diff.ci[0])}, ${fixed(diff.ci[1])}]` : "")
                  : undefined;
                return (
                  <td
                    key={b}
                    className="num"
                    data-testid={`pair-${a}-${b}`}
                    title={title}
                    style={p === null ? undefined : { background: `rgba(63, 185, 80, ${(p * 0.5).toFixed(2)})` }}
                  >
                    {p === null ? "—" : `${Math.round(p * 100)}%`}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
