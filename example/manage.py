#!/usr/bin/env python
"""Django's command-line utility for the tuirunner demo project.

Run it from anywhere, e.g. from the repository root:

    python example/manage.py runserver

Configuration comes from the environment only (twelve-factor); this file does
not read ``.env`` itself -- the process runner (tuirunner) does that.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
