# The blogs here are fixtures that tests copy and build (tests/test_adopt_*.py): pytest must not collect their
# posts as snippets of their own (snipcheck's pytest plugin would verify them in place and write into them).
collect_ignore_glob = ["*"]
