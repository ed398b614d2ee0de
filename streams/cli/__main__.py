"""`python -m streams.cli`: the same as the `turnout` command."""

from streams.cli.commands import main

raise SystemExit(main())
