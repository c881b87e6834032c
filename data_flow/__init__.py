"""Market data, trading calendar, indicators, shared snapshots and record files.

This package never imports an LLM SDK; heavy libraries (pandas, ta, akshare) are imported
lazily inside the modules that build snapshots, so agents that only read snapshots start fast.
"""
