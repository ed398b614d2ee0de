"""The text form of a secret key: base64 of 32 random bytes (AES-256).

Below the settings, so that `settings` can refuse a malformed TURNOUT_MASTER_KEY when it is
read, and `store.keys` a malformed key file when it is loaded, with the same message.
"""

from __future__ import annotations

import base64

from streams.errors import ConfigError


def check_master_key(text: str, where: str) -> bytes:
    """The 32 bytes (AES-256) of a base64 master key; ConfigError naming `where` if not."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:  # binascii.Error too
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{where}: not the base64 of 32 bytes; make one with `openssl rand "
                          "-base64 32`")  # fmt: skip
    return key
