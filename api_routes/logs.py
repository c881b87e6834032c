"""JSON log lines for the API server (`api_server.py --log-json` or `ARENA_LOG_JSON=1`).

One JSON object per line: `time` (ISO 8601, Asia/Shanghai), `level`, `logger`, `message`, and
`exc` when an exception is attached. Uvicorn's access log lines are JSON too.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from data_flow.clock import SHANGHAI


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, SHANGHAI).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """A logging dictConfig: every logger (root, uvicorn, uvicorn.access) as JSON on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "api_routes.logs.JsonFormatter"}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["json"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": ["json"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": ["json"], "level": level.upper(), "propagate": False},
        },
    }
