"""Agent side of the arena: A-share broker rules, portfolio, ledger, LLM loop and runners."""
