from tuirunner.cli import main

raise SystemExit(main())
