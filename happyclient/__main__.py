"""`python -m happyclient` = the `happyclient` command."""

from happyclient.cli import main

raise SystemExit(main())
