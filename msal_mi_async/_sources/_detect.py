"""Choosing the source: a pure function of environment, platform and source order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .._errors import ErrorCode, ManagedIdentityConfigurationError
from .._platform import Platform
from ._base import ManagedIdentitySource

__all__ = ["detect_source"]


def detect_source(
    env: Mapping[str, str],
    sources: Sequence[type[ManagedIdentitySource]],
    platform: Platform,
) -> ManagedIdentitySource:
    """Return the first source, in order, that the environment selects.

    The built-in order ends with IMDS, which always matches.
    """
    for source_class in sources:
        source = source_class.from_environment(env, platform)
        if source is not None:
            return source
    names = ", ".join(cls.__name__ for cls in sources) or "none"
    raise ManagedIdentityConfigurationError(
        f"No managed identity source matched this environment (tried: {names}); "
        "add ImdsSource last in sources= as the fallback",
        error_code=ErrorCode.ALL_SOURCES_UNAVAILABLE,
    )
