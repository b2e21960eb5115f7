"""Sub-commands of `motcua`, one module per topic."""
