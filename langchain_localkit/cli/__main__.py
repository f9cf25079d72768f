"""`python -m langchain_localkit.cli`: the `localkit` command."""

from langchain_localkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
