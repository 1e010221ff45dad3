from rfidwms.cli import main

raise SystemExit(main())
