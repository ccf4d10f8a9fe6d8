"""Long-running jobs: the row is the truth."""
