from tuirunner.cli import run

run()
