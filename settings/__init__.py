"""Arena configuration: typed, validated models loaded from JSON files in this folder."""

from settings.config import (
    PROJECT_ROOT,
    SETTINGS_DIR,
    AgentConfig,
    ArenaConfig,
    ConfigError,
    DataConfig,
    ModelConfig,
    RiskManagement,
    TradingRules,
    load_config,
    resolve_settings_path,
)

__all__ = [
    "PROJECT_ROOT",
    "SETTINGS_DIR",
    "AgentConfig",
    "ArenaConfig",
    "ConfigError",
    "DataConfig",
    "ModelConfig",
    "RiskManagement",
    "TradingRules",
    "load_config",
    "resolve_settings_path",
]
