"""``python -m monitor`` is the same program as the ``yuqing`` CLI."""

from monitor.cli import main

if __name__ == "__main__":
    main()
