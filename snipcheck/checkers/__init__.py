"""One checker per kind of block, looked up by what the block is (plan.Job.kind)."""
