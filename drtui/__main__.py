from drtui.cli import main

raise SystemExit(main())
