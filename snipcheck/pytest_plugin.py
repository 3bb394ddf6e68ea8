"""pytest plugin: each code snippet of a post is one test item (filled in below)."""
