"""Serve TaskTrek: `python run.py [--host H] [--port P]` (same as `python -m tasktrek`)."""

from tasktrek.cli import main

if __name__ == "__main__":
    main()
