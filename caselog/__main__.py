"""``python -m caselog``: the caselog command, where only Python is on the PATH."""

from cli import cli

if __name__ == "__main__":
    cli(prog_name="caselog")
