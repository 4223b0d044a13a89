"""Cached reading of YAML configuration from include/.

DAG files may call these at top level: the files are parsed once per process.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from data_platform.paths import include_file, include_files, include_path

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file is missing or invalid; the message names the file and the fix."""


@cache
def _read_yaml(path: Path) -> Any:
    try:
        with path.open() as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as err:
        raise ConfigError(f"Configuration file {path} does not exist.") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"Configuration file {path} is not valid YAML: {err}") from err


def read_yaml(path: Path) -> Any:
    """Load the YAML file ``path`` (cached); a ConfigError names a missing or invalid file."""
    return _read_yaml(path)


def load_yaml(relative_path: str) -> Any:
    """Load ``<include folder>/<relative_path>`` (first include folder holding it; cached)."""
    return _read_yaml(include_file(relative_path))


def load_yaml_dir(relative_dir: str) -> dict[str, Any]:
    """Load every ``*.yaml`` file of ``<include folder>/<relative_dir>`` over all include
    folders (an earlier folder's file wins), keyed by file stem, sorted."""
    folders = [folder / relative_dir for folder in include_path()]
    if not any(folder.is_dir() for folder in folders):
        raise ConfigError(f"Configuration folder {folders[0]} does not exist.")
    return {Path(name).stem: _read_yaml(path) for name, path in include_files(relative_dir, "*.yaml").items()}


def validate_config(model: type[ModelT], data: Any, where: str) -> ModelT:
    """``model.model_validate(data)``; a ValidationError becomes a ConfigError naming ``where``
    (the file and block) and every invalid field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg'].removeprefix('Value error, ')}"
            for e in err.errors()
        )
        raise ConfigError(f"{where} is invalid: {problems}.") from None
