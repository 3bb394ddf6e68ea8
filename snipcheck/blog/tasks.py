"""Tasks of this blog, added by `snipcheck init`: verify every code snippet of every post, then build the site with
Jekyll. `invoke --list` shows them; the `snipcheck` package does the work."""

from pathlib import Path

from snipcheck.tasks import blog_tasks

namespace = blog_tasks(Path(__file__).resolve().parent)
