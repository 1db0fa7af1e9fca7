from tuirunner.entry import run

run(module=True)
