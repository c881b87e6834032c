"""The arena's records, owned in one place.

- `paths`: where every record of an agent lives (ledger, decision logs, manifest, ...);
- `models`: typed ledger records (a discriminated union of actions) and decision-log events,
  with the one constructor of each event written by more than one writer (`window_end`);
- `read`: the tolerant readers of ledgers and decision logs (nothing else opens them to read);
- `fold`: `AgentFold`, the incremental fold of one agent's ledger + logs that the CLI summary,
  the live API and later statistics all use, with the single definition of equity.

Writers (`agent_engine.ledger.Ledger`, `agent_engine.decision_log.DecisionLog`) stay next to
the code that writes, but take their paths and event shapes from here.
"""
