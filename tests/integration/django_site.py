"""A one-file Django site for the ready-check tests: ALLOWED_HOSTS = ["localhost"], DEBUG on
(its 400 page names DisallowedHost), CommonMiddleware (which checks the Host header)."""

import os
import sys

from django.conf import settings

settings.configure(
    DEBUG=True,
    ALLOWED_HOSTS=["localhost"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="not-a-secret-for-a-test",
    INSTALLED_APPS=[],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    DATABASES={},
)

from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

urlpatterns = [path("", lambda request: HttpResponse("ok"))]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    port = os.environ["PORT"]
    execute_from_command_line([sys.argv[0], "runserver", "--noreload", f"127.0.0.1:{port}"])
