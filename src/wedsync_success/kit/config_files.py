"""Loading versioned YAML configuration files against a pydantic schema."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from wedsync_success.kit.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)


def load_yaml_model(path: Path, model: type[ModelT]) -> ModelT:
    """Parse ``path`` as YAML and validate it, naming the file and field on any error."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        details = [{"field": _field(err), "reason": err["msg"]} for err in exc.errors()]
        raise ConfigError(f"{path} does not match its schema", details=details) from exc


def _field(err: ErrorDetails) -> str:
    """The dotted path of an error; a tagged union's unknown or missing tag names the tag's
    own field (``campaigns.0.when``), not just the item holding it."""
    loc = [str(p) for p in err["loc"]]
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc.append(str(err.get("ctx", {}).get("discriminator", "")).strip("'"))
    return ".".join(loc)
