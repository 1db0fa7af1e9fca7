"""The export formats, apart from their (heavier) implementation: the command line needs the
names to build its parser, on every run."""

FORMATS = ("supervisord", "systemd", "compose", "kubernetes")
ALIASES = {"k8s": "kubernetes", "docker-compose": "compose", "supervisor": "supervisord"}
