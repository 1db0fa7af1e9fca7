"""tuirunner export: configuration for supervisord, systemd, Docker Compose and Kubernetes."""
