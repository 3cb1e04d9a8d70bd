"""Exit statuses our processes share, in a module that imports nothing, so `jobs.supervise` stays small."""

EXIT_BAD_SETTINGS = 2
