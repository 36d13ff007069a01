"""What every resolver shares: the request's ``Context`` and its loaders, the caller's
``Access``, typed input errors and their checks, references to rows by id, pagination,
``write_once`` (the one way to write an idempotent mutation) and inert spreadsheet cells."""
