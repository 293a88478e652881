"""degrade."""
