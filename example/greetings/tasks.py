"""Background tasks, run by ``python example/manage.py db_worker``."""

import logging

from django.conf import settings
from django.core.mail import send_mail

try:  # Django >= 6.0
    from django.tasks import task
except ImportError:  # Django 5.2 + the django-tasks backport
    from django_tasks import task

logger = logging.getLogger(__name__)

GREETING_RECIPIENT = "visitor@example.com"


@task()
def greet(name: str) -> str:
    """Build a greeting, e-mail it, and return it as the task's result."""
    greeting = f"Hello, {name}!"
    try:
        send_mail(
            subject=f"Greeting for {name}",
            message=f"{greeting}\n\n-- sent by the greet task of the tuirunner demo\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[GREETING_RECIPIENT],
        )
    except OSError as exc:  # smtplib.SMTPException, refused, timed out, ...
        # Mail is a nice-to-have here: finish the task anyway.
        logger.warning(
            "task greet(name=%r): could not send mail via %s (%s: %s)",
            name,
            settings.GREETINGS_MAIL_SERVER,
            type(exc).__name__,
            exc,
        )
    else:
        logger.info(
            "task greet(name=%r): mailed %s via %s",
            name,
            GREETING_RECIPIENT,
            settings.GREETINGS_MAIL_SERVER,
        )
    logger.info("task greet(name=%r) finished: %r", name, greeting)
    return greeting
