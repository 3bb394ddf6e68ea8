"""`snipcheck init [FOLDER] [--force]` (also `python -m snipcheck init`): set up an existing Jekyll blog, before it
has a tasks.py. Everything else is done by the blog's invoke tasks."""

import argparse
import sys
from pathlib import Path

from .adopt import init


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="snipcheck", description="Verify every code snippet of a Jekyll blog.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="init")
    setup = commands.add_parser("init", help="add snipcheck's tasks, plugin, includes and panel styles to a blog",
                                description="Add snipcheck's tasks, plugin, includes and panel styles to an existing "
                                            "Jekyll blog, and what the build needs to _config.yml and .gitignore. "
                                            "It touches no post; running it again changes nothing.")
    setup.add_argument("folder", nargs="?", default=".", type=Path, help="the blog's folder (default: here)")
    setup.add_argument("--force", action="store_true",
                       help="replace snipcheck's files (tasks.py, plugin, includes, styles) where yours differ")
    options = parser.parse_args(argv)
    try:
        return init(options.folder, force=options.force)
    except KeyboardInterrupt:
        print("Interrupted: every file is whole, either as it was or as written.")
        return 130
    except BrokenPipeError:  # `snipcheck init | head`: the files are written; only the report was cut short
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
