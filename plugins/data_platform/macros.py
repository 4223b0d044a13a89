"""Template macros for DAGs: target-dependent values resolved when a task renders (run time).

    DAG(..., user_defined_macros=PLATFORM_MACROS)
    PlatformPodOperator(..., arguments=["--lake-root", "{{ platform.lake_root }}"])

DAG files must not read the target at parse time; a macro is evaluated by the worker that runs
the task, so the same serialized DAG renders ``file://...`` locally and ``s3://...`` on MWAA.
"""

from __future__ import annotations

from typing import Any

from data_platform.settings import get_settings


class _SettingsMacro:
    """``{{ platform.<setting> }}`` and ``{{ platform.lake_uri('a', 'b') }}`` in templates."""

    def __getattr__(self, name: str) -> Any:
        return getattr(get_settings(), name)

    def __repr__(self) -> str:  # shown in rendered-template views, never a secret
        return "<platform settings, resolved at run time>"


PLATFORM_MACROS: dict[str, Any] = {"platform": _SettingsMacro()}
