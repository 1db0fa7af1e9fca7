from django.apps import AppConfig


class GreetingsConfig(AppConfig):
    name = "greetings"
    verbose_name = "Greetings"
