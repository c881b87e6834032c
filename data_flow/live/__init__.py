"""Read-only views over the arena's records (ledgers, decision logs, snapshots) for the API.

Readers cache by file identity/size/mtime and parse only appended bytes; aggregates are kept
incrementally so repeated API requests are cheap. Nothing here writes to the data root.
"""
