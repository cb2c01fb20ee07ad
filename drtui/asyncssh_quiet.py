"""asyncssh, imported without the noise of the cryptography it runs on.

Current cryptography releases deprecate DSA, and asyncssh still names DSA types at import
time, so a plain `import asyncssh` prints about ten CryptographyDeprecationWarning lines on
stderr: `drtui serve-ssh` users and anything parsing its stderr saw them before the port line.
drtui never offers DSA keys, so those warnings say nothing to our users. Import asyncssh
through `load()` (or import this module first) so they are silenced by category, not by
text: any other warning still shows.
"""

from __future__ import annotations

import warnings
from types import ModuleType


def load() -> ModuleType:
    with warnings.catch_warnings():
        try:
            from cryptography.utils import CryptographyDeprecationWarning
        except ImportError:  # an old cryptography without the class: nothing to silence
            pass
        else:
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        import asyncssh

    return asyncssh
