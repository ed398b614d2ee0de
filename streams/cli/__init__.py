"""The `turnout` command and what only it uses: the API client, sending files, terminal
output, `watch`, the demo, and managing the local broker and worker."""

from streams.cli.commands import main

__all__ = ["main"]
