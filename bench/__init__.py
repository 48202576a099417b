"""TaskTrek's benchmark suite: `python -m bench` (full) or `python -m bench --smoke`.

Every figure is taken side by side in one run against the framework floor and the peers a
user would pick instead, so that the ratios hold even where absolute figures drift.
See docs/performance.md.
"""
