from hftui.tui.cli import main

raise SystemExit(main())
