"""What detection may know of the machine besides the environment: OS and file existence."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import attrs

__all__ = ["Platform"]


@attrs.frozen
class Platform:
    """The operating system and a file-exists check, injectable for tests."""

    system: str = sys.platform
    file_exists: Callable[[str], bool] = os.path.isfile

    @property
    def is_windows(self) -> bool:
        return self.system.startswith("win")

    @property
    def is_linux(self) -> bool:
        return self.system.startswith("linux")
