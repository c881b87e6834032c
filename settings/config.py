"""Typed arena configuration.

Every model forbids unknown keys, so a typo in a config file stops the run with an error that
names the key and the file instead of being silently ignored. Money-like values are `Decimal`.
It reads no environment itself: API keys come through `settings.env.env_value` (by the variable
name a model config gives), everything else through `settings.env.EnvSettings`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data_flow.symbols import SYMBOL_PATTERN, parse_symbol

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SETTINGS_DIR = PROJECT_ROOT / "settings"

STAR10_SYMBOLS = [
    "SH688008", "SH688009", "SH688047", "SH688111", "SH688180",
    "SH688256", "SH688271", "SH688303", "SH688617", "SH688981",
]  # fmt: skip
SYMBOL_RE = SYMBOL_PATTERN  # the canonical symbol form, parsed in data_flow.symbols
SIGNATURE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BASELINE_STRATEGIES = ("buy_and_hold", "momentum", "mean_reversion", "random")
# Continuous-auction hours of SSE/SZSE (Beijing time); decision windows must fall inside them.
TRADING_SESSIONS = (("09:30", "11:30"), ("13:00", "15:00"))


class ArenaError(Exception):
    """Base of all arena errors that carry a message meant for the user."""


class ConfigError(ArenaError):
    """A configuration file is missing, unreadable, or has a bad key or value."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class DateRange(_Strict):
    init_date: date
    end_date: date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end_date < self.init_date:
            raise ValueError("end_date must not be before init_date")
        return self


class Pricing(_Strict):
    """Inference price of a model per million tokens, in `currency` (converted to CNY with the
    config's `fx_rates`)."""

    input_per_million: Decimal = Field(ge=0, le=Decimal("1e6"))
    output_per_million: Decimal = Field(ge=0, le=Decimal("1e6"))
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class ReplaySettings(_Strict):
    """Answer this model's calls from a recorded run instead of the provider.

    `run_dir` is the recorded run's data root; `signature` the recorded agent (default: the
    same signature); `on_divergence` what to do when a request differs from the recorded one:
    `stop` fails the agent with a report, `live` continues with the real provider from there.
    """

    run_dir: str
    signature: str | None = None
    on_divergence: Literal["stop", "live"] = "stop"

    def run_root(self) -> Path:
        return _resolve(self.run_dir)


class ModelConfig(_Strict):
    """One agent. `provider: baseline` agents use `basemodel` as the strategy name."""

    signature: str
    provider: Literal["openai", "anthropic", "baseline"]
    basemodel: str
    base_url: str | None = None
    api_key_env: str | None = None
    enabled: bool = True
    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)
    parameters: dict[str, Any] = Field(default_factory=dict)
    pricing: Pricing | None = None
    knowledge_cutoff: date | None = None
    replay: ReplaySettings | None = None

    @field_validator("signature")
    @classmethod
    def _signature_ok(cls, v: str) -> str:
        if not SIGNATURE_RE.match(v):
            raise ValueError("must be 1-64 characters of letters, digits, '.', '_' or '-'")
        return v

    @field_validator("api_key_env")
    @classmethod
    def _env_ok(cls, v: str | None) -> str | None:
        if v is not None and not ENV_NAME_RE.match(v):
            raise ValueError("must be an environment variable name, not a key")
        return v

    @field_validator("base_url")
    @classmethod
    def _url_ok(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://", v):
            raise ValueError("must start with http:// or https://")
        return v

    @model_validator(mode="after")
    def _provider_fields(self) -> ModelConfig:
        if self.provider == "baseline":
            if self.basemodel not in BASELINE_STRATEGIES:
                raise ValueError(
                    f"basemodel must be one of {', '.join(BASELINE_STRATEGIES)} for baseline agents"
                )
        elif not self.api_key_env:
            raise ValueError(f"api_key_env is required for provider '{self.provider}'")
        if self.provider == "baseline" and self.replay is not None:
            raise ValueError("replay is for model agents; baselines are recomputed from snapshots")
        return self

    def needs_key(self) -> bool:
        """Whether a run of this agent calls the provider (a replay that stops at a divergence
        never does)."""
        if self.provider == "baseline":
            return False
        return self.replay is None or self.replay.on_divergence == "live"

    def api_key(self, env: Mapping[str, str] | None = None) -> str | None:
        """The key from the environment variable named by `api_key_env` (never stored);
        `env` instead of this process's environment (e.g. a child's)."""
        if not self.api_key_env:
            return None
        if env is not None:
            return env.get(self.api_key_env, "").strip() or None
        from settings.env import env_value

        return env_value(self.api_key_env)

    def skip_reason(self, env: Mapping[str, str] | None = None) -> str | None:
        """Why this agent cannot run now (in `env`, default this process's), or None."""
        if not self.enabled:
            return "disabled in config"
        if self.needs_key() and self.api_key(env) is None:
            return f"{self.api_key_env} not set"
        return None


class AgentConfig(_Strict):
    max_steps: int = Field(default=10, ge=1, le=100)
    max_retries: int = Field(default=3, ge=0, le=10)
    base_delay: float = Field(default=1.0, ge=0, le=60)
    max_delay: float = Field(default=30.0, ge=0, le=600)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    # a window's model calls and retries end by this deadline (the window becomes llm_error)
    window_timeout_seconds: float = Field(default=600.0, gt=0, le=6 * 3600)
    # UTF-8 bytes of one reply (tool calls, text, reasoning) kept in the conversation and log
    max_reply_bytes: int = Field(default=262144, ge=1024, le=64 * 1024 * 1024)
    initial_cash: Decimal = Field(default=Decimal("1000000"), gt=0, le=Decimal("1e12"))


class TradingRules(_Strict):
    commission_rate: Decimal = Field(default=Decimal("0.0003"), ge=0, le=Decimal("0.01"))
    min_commission: Decimal = Field(default=Decimal("5"), ge=0, le=Decimal("1000"))
    stamp_duty_rate: Decimal = Field(default=Decimal("0.0005"), ge=0, le=Decimal("0.01"))
    transfer_fee_rate: Decimal = Field(default=Decimal("0.00001"), ge=0, le=Decimal("0.01"))
    slippage_bps: Decimal = Field(default=Decimal("0"), ge=0, le=Decimal("1000"))
    # Cash-dividend tax: "holding_period" (A-share rule by FIFO lot) or a flat rate in [0, 1].
    dividend_tax: Literal["holding_period"] | Annotated[Decimal, Field(ge=0, le=1)] = (
        "holding_period"
    )
    # Resting orders: one bar fills at most this share of its volume (null: no cap).
    max_volume_participation: Decimal | None = Field(default=Decimal("0.1"), gt=0, le=1)


class RiskManagement(_Strict):
    single_stock_max_position: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)


class DataConfig(_Strict):
    """Where market data comes from.

    - `demo`: deterministic synthetic market (offline default), seeded by `seed`.
    - `files`: AStock Arena files (`ai_stock_data.json` + `news.csv`) in `path`.
    - `akshare`: live/historical data from akshare, cached under `<data_root>/cache/akshare`.
    Relative paths resolve against the project root.
    """

    source: Literal["demo", "files", "akshare"] = "demo"
    path: str | None = None
    seed: int = 42
    recent_bars: int = Field(default=8, ge=1, le=64)
    news_lookback_hours: int = Field(default=72, ge=1, le=24 * 30)
    max_news: int = Field(default=20, ge=0, le=200)
    request_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    snapshot_lock_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _path_for_files(self) -> DataConfig:
        if self.source == "files" and not self.path:
            raise ValueError("path is required when source is 'files'")
        return self


class LogConfig(_Strict):
    """`data_root`: all records. `snapshot_root`: where the shared snapshots (and their locks)
    live, as `<snapshot_root>/agent_data/shared/...`; null means the data root. Experiments
    point every cell of a period at one snapshot root so they all read the same files."""

    data_root: str = "./data_flow"
    snapshot_root: str | None = None


def _hhmm_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


class ArenaConfig(_Strict):
    description: str = ""
    date_range: DateRange
    mode: Literal["replay", "live"] = "replay"
    symbols: list[str] = Field(default_factory=lambda: list(STAR10_SYMBOLS), min_length=1)
    decision_windows: list[str] = Field(default_factory=lambda: ["10:30", "11:30", "14:00"])
    models: list[ModelConfig] = Field(min_length=1)
    agent_config: AgentConfig = Field(default_factory=AgentConfig)
    trading_rules: TradingRules = Field(default_factory=TradingRules)
    risk_management: RiskManagement = Field(default_factory=RiskManagement)
    data_config: DataConfig = Field(default_factory=DataConfig)
    log_config: LogConfig = Field(default_factory=LogConfig)
    # CNY per unit of each pricing currency, e.g. {"USD": 7.2}; CNY itself is always 1.
    fx_rates: dict[str, Decimal] = Field(default_factory=dict)

    @field_validator("fx_rates")
    @classmethod
    def _fx_ok(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, rate in v.items():
            if not re.match(r"^[A-Z]{3}$", currency):
                raise ValueError(f"'{currency}' is not a currency code like USD")
            if rate <= 0:
                raise ValueError(f"the {currency} rate must be positive")
        return v

    @model_validator(mode="after")
    def _priced_in_known_currency(self) -> ArenaConfig:
        for m in self.models:
            if (
                m.pricing
                and m.pricing.currency != "CNY"
                and m.pricing.currency not in self.fx_rates
            ):
                raise ValueError(
                    f"{m.signature}: pricing.currency {m.pricing.currency} has no fx_rates entry"
                )
        return self

    def cny_rate(self, currency: str) -> Decimal:
        """CNY per unit of `currency` (1 for CNY)."""
        return Decimal(1) if currency == "CNY" else self.fx_rates[currency]

    @field_validator("symbols")
    @classmethod
    def _symbols_ok(cls, v: list[str]) -> list[str]:
        for s in v:
            parse_symbol(s)  # ValueError: "'x' is not a symbol like SH688008 or SZ000001"
        if len(set(v)) != len(v):
            raise ValueError("symbols must be unique")
        return v

    @field_validator("decision_windows")
    @classmethod
    def _windows_ok(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one decision window is required")
        previous = -1
        for w in v:
            if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", w):
                raise ValueError(f"'{w}' is not a time like 10:30")
            minutes = _hhmm_minutes(w)
            in_session = any(
                _hhmm_minutes(a) < minutes <= _hhmm_minutes(b) for a, b in TRADING_SESSIONS
            )
            if not in_session:
                raise ValueError(f"'{w}' is outside trading hours (09:30-11:30, 13:00-15:00)")
            if minutes <= previous:
                raise ValueError("decision windows must be in increasing order")
            previous = minutes
        return v

    @field_validator("models")
    @classmethod
    def _unique_signatures(cls, v: list[ModelConfig]) -> list[ModelConfig]:
        names = [m.signature for m in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate signature(s): {', '.join(dupes)}")
        return v

    # --- derived paths -------------------------------------------------------------------
    def data_root(self) -> Path:
        return _resolve(self.log_config.data_root)

    def snapshot_root(self) -> Path:
        """Root of the shared snapshot store (`log_config.snapshot_root`, else the data root)."""
        root = self.log_config.snapshot_root
        return _resolve(root) if root else self.data_root()

    def data_path(self) -> Path | None:
        return _resolve(self.data_config.path) if self.data_config.path else None

    def model(self, signature: str) -> ModelConfig:
        for m in self.models:
            if m.signature == signature:
                return m
        raise ConfigError(f"no model with signature '{signature}' in config")

    def public_dict(self) -> dict[str, Any]:
        """The resolved config as JSON-safe data. Holds env var *names*, never key values."""
        return json.loads(self.model_dump_json())


def _resolve(path_text: str) -> Path:
    p = Path(path_text).expanduser()
    return p if p.is_absolute() else (PROJECT_ROOT / p).resolve()


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"invalid config {source}:"]
    for e in err.errors():
        loc = ".".join(str(part) for part in e["loc"]) or "<root>"
        if e["type"] == "extra_forbidden":
            lines.append(f"  {loc}: unknown key")
        else:
            lines.append(f"  {loc}: {e['msg']}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "<dict>") -> ArenaConfig:
    """Validate already-parsed JSON data; errors name the key and `source`."""
    try:
        return ArenaConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source)) from None


def load_config(path: str | Path) -> ArenaConfig:
    """Load and validate a config file. Raises ConfigError naming the file and the bad key."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")  # tolerate a byte-order mark
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {p}") from None
    except OSError as err:
        raise ConfigError(f"cannot read config file {p}: {err}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        msg = f"invalid JSON in {p}: line {err.lineno} column {err.colno}: {err.msg}"
        raise ConfigError(msg) from None
    return parse_config(data, str(p))


def resolve_settings_path(relative: str) -> Path:
    """Resolve a config path given relative to `settings/`, refusing anything outside it.

    Used by the API (which may only load configs from `settings/`). Raises ConfigError.
    """
    if not relative or "\x00" in relative:
        raise ConfigError("config_path must be a non-empty path relative to settings/")
    candidate = Path(relative)
    if candidate.is_absolute() or any(part == ".." for part in candidate.parts):
        raise ConfigError("config_path must be relative to settings/ and stay inside it")
    if candidate.parts and candidate.parts[0] == "settings":
        candidate = Path(*candidate.parts[1:])
    resolved = (SETTINGS_DIR / candidate).resolve()
    if not resolved.is_relative_to(SETTINGS_DIR.resolve()) or resolved.suffix != ".json":
        raise ConfigError("config_path must name a .json file inside settings/")
    if "runtime" in resolved.relative_to(SETTINGS_DIR.resolve()).parts[:1]:
        raise ConfigError("settings/runtime/ holds runtime state, not configs")
    return resolved
