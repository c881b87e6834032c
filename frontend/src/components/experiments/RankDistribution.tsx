import type { ModelReport } from "../../api/experimentTypes";
import { colorFor } from "../../lib/colors";

/** How often each model finished 1st, 2nd, … over the (period, repeat) groups. */
export function RankDistribution({ models }: { models: ModelReport[] }) {
  const ranks = Math.max(0, ...models.map((m) => m.rank.distribution.length));
  return (
    <div className="table-wrap">
      <table className="table compact rank-dist" aria-label="Rank distribution">
        <thead>
          <tr>
            <th>Model</th>
            {Array.from({ length: ranks }, (_, k) => (
              <th key={k} className="num">
                #{k + 1}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.signature} data-testid={`rank-${m.signature}`}>
              <td>{m.signature}</td>
              {Array.from({ length: ranks }, (_, k) => {
                const n = m.rank.distribution[k] ?? 0;
                const share = m.rank.groups > 0 ? n / m.rank.groups : 0;
                return (
                  <td key={k} className="num rank-cell" title={`${n} of ${m.rank.groups} groups`}>
                    <span
                      className="rank-bar"
                      style={{ width: `${Math.round(share * 100)}%`, background: colorFor(m.signature) }}
                    />
                    <span className="rank-count">{n}</span>
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
