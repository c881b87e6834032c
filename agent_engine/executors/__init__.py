"""Executors run agent tasks: `base.Executor` is the interface (submit / poll / cancel / wait),
`subprocess.SubprocessExecutor` its first implementation (one process group per agent)."""
