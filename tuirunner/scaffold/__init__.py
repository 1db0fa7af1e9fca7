"""``tuirunner init``: a starting Procfile, settings and env files for a Django project, found by
reading the project's files (never importing them): :mod:`.envreads` finds the variables the
settings read, :mod:`.detect` the project's layout and worker library, :mod:`.plan` what to
write and :mod:`.write` writes it without overwriting anything."""
